//! YAML 1.1's booleans, which dbt reads and serde_yaml (YAML 1.2) does not:
//! PyYAML resolves an unquoted `yes`, `no`, `on` or `off` (lower, title or
//! upper case) to a boolean, so `enabled: no` disables a model in dbt.
//!
//! [`rewrite`] writes `true` / `false` for each such plain scalar in a value
//! position (`key: no`, `- yes`, `{relation: yes}`, `[on, off]`), outside
//! block scalars and comments; quoted `'no'` stays text, as in PyYAML.
//! Because a line scanner is no parser, [`same_but_booleans`] then checks
//! the two texts' parses: the rewrite is taken only when the sole
//! differences are those words become booleans, else the text is read as
//! written (a multi-line plain scalar that begins with `no`, say). Keys are
//! never rewritten (an `on:` key stays text; dbt's files have none).

use serde_yaml::Value;

/// PyYAML's YAML 1.1 boolean words that YAML 1.2 reads as text.
fn boolean(word: &str) -> Option<bool> {
    match word {
        "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `line` without a trailing comment (a `#` after a space or at the
/// start, outside quotes), and without trailing spaces.
fn uncommented(line: &str) -> &str {
    let (mut single, mut double, mut prev) = (false, false, ' ');
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return line[..i].trim_end(),
            _ => {}
        }
        prev = c;
    }
    line.trim_end()
}

/// Whether a line's value opens a block scalar (`key: |`, `- >-`).
fn opens_block(content: &str) -> bool {
    let last = content.rsplit(|c: char| c.is_whitespace()).next().unwrap_or("");
    let before = content[..content.len() - last.len()].trim_end();
    (last.starts_with('|') || last.starts_with('>'))
        && last[1..].chars().all(|c| c == '+' || c == '-' || c.is_ascii_digit())
        && (before.ends_with(':') || before.ends_with('-') || before.is_empty())
}

/// Where a line's value starts: after its `- ` list markers and its
/// `key: ` (a plain or quoted key), or `None` for a line with no value.
fn value_start(content: &str) -> Option<usize> {
    let mut i = indent(content);
    while content[i..].starts_with("- ") {
        i += 2;
        i += indent(&content[i..]);
    }
    let rest = &content[i..];
    if rest == "-" {
        return None;
    }
    let key_end = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].find(q).map(|e| e + 2),
        _ => None,
    };
    let colon = match key_end {
        Some(e) => rest[e..].find(": ").map(|c| e + c).filter(|c| rest[key_end.unwrap_or(0)..*c].trim().is_empty()),
        None if rest.starts_with(['{', '[']) => None,
        None => rest.find(": ").filter(|c| !rest[..*c].contains(['"', '\'', '{', '['])),
    };
    match colon {
        Some(c) => Some(i + c + 2 + indent(&rest[c + 2..])),
        None if i > indent(content) => Some(i),
        None => None,
    }
}

/// The value's words rewritten: a whole plain scalar, or the values of a
/// flow collection written without quotes (`{relation: yes}`, `[on, off]`).
fn rewrite_value(value: &str) -> Option<String> {
    if let Some(b) = boolean(value) {
        return Some(b.to_string());
    }
    if !(value.starts_with(['{', '[']) && !value.contains(['"', '\''])) {
        return None;
    }
    let (mut out, mut word, mut changed) = (String::with_capacity(value.len()), String::new(), false);
    // The open collections, and the separator before the current word.
    let (mut open, mut before): (Vec<char>, char) = (Vec::new(), ' ');
    for c in value.chars() {
        if !matches!(c, ',' | '{' | '}' | '[' | ']' | ':') {
            word.push(c);
            continue;
        }
        // A value: after `key:`, or an item of a sequence; never a key (`yes:`).
        let in_sequence = open.last() == Some(&'[') && matches!(before, '[' | ',');
        let is_value = c != ':' && (before == ':' || in_sequence);
        match boolean(word.trim()).filter(|_| is_value) {
            Some(b) => {
                let lead = word.len() - word.trim_start().len();
                out.push_str(&word[..lead]);
                out.push_str(&b.to_string());
                out.push_str(&word[word.trim_end().len()..]);
                changed = true;
            }
            None => out.push_str(&word),
        }
        word.clear();
        match c {
            '{' | '[' => open.push(c),
            '}' | ']' => {
                open.pop();
            }
            _ => {}
        }
        out.push(c);
        before = c;
    }
    out.push_str(&word);
    changed.then_some(out)
}

/// `text` with YAML 1.1's boolean words written as YAML 1.2 booleans, or
/// `None` when it has none.
pub(super) fn rewrite(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut changed = false;
    let mut block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if let Some(parent) = block {
            if body.trim().is_empty() || indent(body) > parent {
                out.push_str(line);
                continue;
            }
            block = None;
        }
        let content = uncommented(body);
        if opens_block(content) {
            block = Some(indent(content));
        }
        let new = value_start(content).and_then(|s| Some((s, rewrite_value(&content[s..])?)));
        match new {
            Some((start, value)) => {
                out.push_str(&content[..start]);
                out.push_str(&value);
                out.push_str(&line[content.len()..]);
                changed = true;
            }
            None => out.push_str(line),
        }
    }
    changed.then_some(out)
}

/// Whether `rewritten` parses as `original` does but for YAML 1.1 boolean
/// words become the booleans they mean.
pub(super) fn same_but_booleans(original: &Value, rewritten: &Value) -> bool {
    match (original, rewritten) {
        (Value::String(s), Value::Bool(b)) => boolean(s) == Some(*b),
        (Value::Mapping(a), Value::Mapping(b)) => {
            a.len() == b.len()
                && a.iter().zip(b.iter()).all(|((ka, va), (kb, vb))| ka == kb && same_but_booleans(va, vb))
        }
        (Value::Sequence(a), Value::Sequence(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_but_booleans(x, y))
        }
        (Value::Tagged(a), Value::Tagged(b)) => a.tag == b.tag && same_but_booleans(&a.value, &b.value),
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Value {
        serde_yaml::from_str(text).expect("parses")
    }

    #[test]
    fn value_words_become_booleans_and_quoted_ones_stay_text() {
        let text = "models:\n  shop:\n    +enabled: no   # off for now\n    +persist_docs: {relation: yes, columns: Off}\n    q: 'no'\n    list:\n      - ON\n      - \"off\"\n    flow: [yes, maybe, NO]\n";
        let out = rewrite(text).expect("rewritten");
        let want = "models:\n  shop:\n    +enabled: false   # off for now\n    +persist_docs: {relation: true, columns: false}\n    q: 'no'\n    list:\n      - true\n      - \"off\"\n    flow: [true, maybe, false]\n";
        assert_eq!(out, want);
        assert!(same_but_booleans(&parsed(text), &parsed(&out)));
    }

    #[test]
    fn block_scalars_comments_keys_and_other_words_are_left_alone() {
        let text = "description: |\n  enabled: no\n  - yes\nnote: >-\n  off\nyes: 1\nword: nope\n# enabled: no\n";
        assert_eq!(rewrite(text), None);
    }

    #[test]
    fn a_plain_scalar_that_only_begins_with_a_word_is_refused_by_the_check() {
        let text = "description: no\n  more words\n";
        let out = rewrite(text).expect("the scanner rewrites the first line");
        assert!(!same_but_booleans(&parsed(text), &parsed(&out)), "{out}");
    }
}
