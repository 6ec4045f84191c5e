//! dbt's package versions: `1.3.0`, `>=1.0.0`, `<2.0.0`, … as dbt's semver
//! module reads them, and the choice of one version from a package's list.
//!
//! A requirement is the conjunction of its specifiers (dbt reduces them to
//! one range first; the versions either accepts are the same). The newest
//! version that satisfies all of them wins; prereleases take part only when
//! asked for (`install_prerelease`) or when a specifier names one, as dbt
//! does. Owns no I/O. Used by `runner deps` (`deps::hub`) and by
//! `require-dbt-version` (`project::version`); imports nothing of the crate.

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matcher {
    Exact,
    Gt,
    Ge,
    Lt,
    Le,
}

/// One specifier, e.g. `>=1.0.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Specifier {
    matcher: Matcher,
    version: Version,
}

/// `0|[1-9][0-9]*`, as dbt's regex takes a version part.
fn number(s: &str) -> Option<u64> {
    let ok = s == "0" || (!s.is_empty() && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| s.parse().ok()).flatten()
}

impl Version {
    pub(crate) fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text.split_once('+').map_or(text, |(v, _build)| v);
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (text, None),
        };
        if let Some(pre) = pre {
            let part_ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !pre.split('.').all(part_ok) {
                return None;
            }
        }
        let mut parts = core.split('.');
        let (major, minor, patch) = (number(parts.next()?)?, number(parts.next()?)?, number(parts.next()?)?);
        if parts.next().is_some() {
            return None;
        }
        Some(Version { major, minor, patch, pre: pre.map(str::to_string) })
    }

    pub(crate) fn is_prerelease(&self) -> bool {
        self.pre.is_some()
    }
}

/// Semver precedence: numbers first; a prerelease sorts before its release;
/// prerelease parts compare numerically when both are numbers.
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch)).then_with(|| {
            match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => {
                    let part = |x: &str, y: &str| match (x.parse::<u64>(), y.parse::<u64>()) {
                        (Ok(x), Ok(y)) => x.cmp(&y),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        (Err(_), Err(_)) => x.cmp(y),
                    };
                    let (xs, ys): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
                    xs.iter().zip(&ys).map(|(x, y)| part(x, y)).find(|o| o.is_ne()).unwrap_or(xs.len().cmp(&ys.len()))
                }
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        match &self.pre {
            Some(pre) => write!(f, "-{pre}"),
            None => Ok(()),
        }
    }
}

impl Specifier {
    /// One specifier; `None` when dbt would refuse it.
    pub(crate) fn parse(text: &str) -> Option<Specifier> {
        let t = text.trim();
        let (matcher, rest) =
            [(">=", Matcher::Ge), ("<=", Matcher::Le), (">", Matcher::Gt), ("<", Matcher::Lt), ("=", Matcher::Exact)]
                .into_iter()
                .find_map(|(p, m)| t.strip_prefix(p).map(|rest| (m, rest)))
                .unwrap_or((Matcher::Exact, t));
        Some(Specifier { matcher, version: Version::parse(rest)? })
    }

    /// A `version:` as written: a list, or one string that may hold several
    /// specifiers separated by commas (`">=1.0.0,<2.0.0"`).
    pub(crate) fn parse_all(raw: &[String]) -> Result<Vec<Specifier>, String> {
        raw.iter()
            .flat_map(|r| r.split(','))
            .map(|s| {
                Specifier::parse(s).ok_or_else(|| {
                    format!("`{}` is not a version (dbt takes e.g. `1.3.0`, `>=1.0.0` or `<2.0.0`)", s.trim())
                })
            })
            .collect()
    }

    pub(crate) fn names_prerelease(&self) -> bool {
        self.version.is_prerelease()
    }

    /// As dbt's `to_version_string` shows it: an exact version with `=`.
    pub(crate) fn dbt_string(&self) -> String {
        match self.matcher {
            Matcher::Exact => format!("={}", self.version),
            _ => self.to_string(),
        }
    }

    pub(crate) fn accepts(&self, v: &Version) -> bool {
        let o = v.cmp(&self.version);
        match self.matcher {
            Matcher::Exact => o.is_eq(),
            Matcher::Gt => o.is_gt(),
            Matcher::Ge => o.is_ge(),
            Matcher::Lt => o.is_lt(),
            Matcher::Le => o.is_le(),
        }
    }
}

impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = match self.matcher {
            Matcher::Exact => "",
            Matcher::Gt => ">",
            Matcher::Ge => ">=",
            Matcher::Lt => "<",
            Matcher::Le => "<=",
        };
        write!(f, "{m}{}", self.version)
    }
}

/// The newest of `available` (as the index spells them) that every specifier
/// accepts. Versions the index lists that are not semver are passed over.
pub(crate) fn choose<'a>(
    specs: &[Specifier],
    available: impl IntoIterator<Item = &'a str>,
    prerelease: bool,
) -> Option<&'a str> {
    let prerelease = prerelease || specs.iter().any(Specifier::names_prerelease);
    available
        .into_iter()
        .filter_map(|s| Version::parse(s).map(|v| (v, s)))
        .filter(|(v, _)| prerelease || !v.is_prerelease())
        .filter(|(v, _)| specs.iter().all(|sp| sp.accepts(v)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, s)| s)
}

/// Whether some version could meet every specifier, as dbt's
/// `versions_compatible` reduces them to one range: the highest lower bound
/// must not pass the lowest upper bound (and where they meet, both must
/// include the version).
pub(crate) fn satisfiable(specs: &[Specifier]) -> bool {
    // (version, inclusive) of the tightest bound on each side.
    let mut lower: Option<(&Version, bool)> = None;
    let mut upper: Option<(&Version, bool)> = None;
    fn tighter_low<'v>(cur: Option<(&'v Version, bool)>, v: &Version, inc: bool) -> Option<(&'v Version, bool)> {
        match cur {
            Some((c, ci)) if c > v || (c == v && !ci) => Some((c, ci)),
            Some((c, _)) if c == v => Some((c, inc)),
            _ => None,
        }
    }
    for s in specs {
        let v = &s.version;
        let (low, high) = match s.matcher {
            Matcher::Exact => (Some(true), Some(true)),
            Matcher::Ge => (Some(true), None),
            Matcher::Gt => (Some(false), None),
            Matcher::Le => (None, Some(true)),
            Matcher::Lt => (None, Some(false)),
        };
        if let Some(inc) = low {
            lower = tighter_low(lower, v, inc).or(Some((v, inc)));
        }
        if let Some(inc) = high {
            upper = match upper {
                Some((c, ci)) if c < v || (c == v && !ci) => Some((c, ci)),
                Some((c, _)) if c == v => Some((c, inc)),
                _ => Some((v, inc)),
            };
        }
    }
    match (lower, upper) {
        (Some((l, li)), Some((u, ui))) => l < u || (l == u && li && ui),
        _ => true,
    }
}

/// The versions that could be installed at all, oldest first (for messages).
pub(crate) fn installable<'a>(available: impl IntoIterator<Item = &'a str>, prerelease: bool) -> Vec<&'a str> {
    let mut out: Vec<(Version, &str)> = available
        .into_iter()
        .filter_map(|s| Version::parse(s).map(|v| (v, s)))
        .filter(|(v, _)| prerelease || !v.is_prerelease())
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satisfiable_is_one_nonempty_range() {
        let ok = |s: &[&str]| satisfiable(&specs(s));
        assert!(ok(&[">=1.0.0", "<2.0.0"]));
        assert!(ok(&[">=1.0.0", "<=1.0.0"]));
        assert!(ok(&["1.2.0", ">=1.0.0"]));
        assert!(ok(&[">=1.0.0"]));
        assert!(!ok(&[">=2.0.0", "<1.0.0"]));
        assert!(!ok(&[">1.0.0", "<=1.0.0"]));
        assert!(!ok(&["1.0.0", "1.1.0"]));
        assert!(!ok(&[">=1.0.0", ">1.0.0", "<=1.0.0"]));
    }

    fn specs(s: &[&str]) -> Vec<Specifier> {
        Specifier::parse_all(&s.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("valid")
    }

    const HUB: [&str; 8] = ["0.9.6", "1.0.0", "1.1.1", "1.2.0", "1.3.0", "1.3.1-b1", "2.0.0-rc1", "0.8.0"];

    #[test]
    fn the_newest_version_in_range_wins() {
        assert_eq!(choose(&specs(&[">=1.0.0", "<2.0.0"]), HUB, false), Some("1.3.0"));
        assert_eq!(choose(&specs(&[">=1.0.0,<1.2.0"]), HUB, false), Some("1.1.1"));
        assert_eq!(choose(&specs(&["1.1.1"]), HUB, false), Some("1.1.1"));
        assert_eq!(choose(&specs(&["=0.9.6"]), HUB, false), Some("0.9.6"));
        assert_eq!(choose(&specs(&[">1.3.0"]), HUB, false), None);
        assert_eq!(choose(&specs(&[">=1.0.0", "<1.0.0"]), HUB, false), None);
    }

    #[test]
    fn prereleases_only_when_asked_for_or_named() {
        assert_eq!(choose(&specs(&[">=1.0.0"]), HUB, true), Some("2.0.0-rc1"));
        assert_eq!(choose(&specs(&["2.0.0-rc1"]), HUB, false), Some("2.0.0-rc1"));
        assert_eq!(installable(HUB, false), vec!["0.8.0", "0.9.6", "1.0.0", "1.1.1", "1.2.0", "1.3.0"]);
    }

    #[test]
    fn versions_order_as_semver() {
        let v = |s| Version::parse(s).expect("version");
        assert!(v("1.10.0") > v("1.9.9"));
        assert!(v("1.0.0") > v("1.0.0-rc.2"));
        assert!(v("1.0.0-rc.10") > v("1.0.0-rc.2"));
        assert!(v("1.0.0-beta") > v("1.0.0-alpha"));
        assert_eq!(v("1.2.3+build.5"), v("1.2.3"));
    }

    #[test]
    fn what_dbt_refuses_is_refused() {
        for bad in ["1.0", "01.0.0", "v1.0.0", ">=1.0.x", "latest", "~1.0.0", "1.0.0-"] {
            assert!(Specifier::parse(bad).is_none(), "{bad}");
        }
        let e = Specifier::parse_all(&["1.0.0".into(), "^2.0.0".into()]).expect_err("caret");
        assert!(e.contains("`^2.0.0`"), "{e}");
    }
}
