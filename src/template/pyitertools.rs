//! dbt's `modules.itertools`: `product` (with `repeat=`), `chain` (and
//! `chain.from_iterable`), `combinations`, `combinations_with_replacement`,
//! `permutations`, `islice`, `groupby`, `zip_longest` and `repeat`.
//!
//! Python returns lazy iterators; templates only loop over them or turn them
//! into lists, so these return finished lists, with tuples where Python yields
//! tuples. Results are capped in size so a careless `product` cannot exhaust
//! memory. This module knows nothing of dbt's context.

use minijinja::value::{Kwargs, Object, ObjectRepr, Tuple, Value};
use minijinja::{Error, ErrorKind, State};
use std::sync::Arc;

/// More items than any template needs; beyond it a call fails instead.
const MAX_ITEMS: usize = 1_000_000;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Product,
    Chain,
    Combinations,
    CombinationsWithReplacement,
    Permutations,
    Islice,
    Groupby,
    ZipLongest,
    Repeat,
}

const FUNCS: [(&str, Func); 9] = [
    ("product", Func::Product),
    ("chain", Func::Chain),
    ("combinations", Func::Combinations),
    ("combinations_with_replacement", Func::CombinationsWithReplacement),
    ("permutations", Func::Permutations),
    ("islice", Func::Islice),
    ("groupby", Func::Groupby),
    ("zip_longest", Func::ZipLongest),
    ("repeat", Func::Repeat),
];

/// `modules.itertools` itself.
#[derive(Debug)]
struct Module;

impl Object for Module {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        FUNCS.iter().find(|(n, _)| *n == name).map(|(_, f)| Value::from_object(*f))
    }
}

pub fn itertools_module() -> Value {
    Value::from_object(Module)
}

/// Positional arguments and keyword arguments of a call.
fn split(args: &[Value]) -> Result<(&[Value], Option<Kwargs>), Error> {
    match args.split_last() {
        Some((last, rest)) if last.is_kwargs() => Ok((rest, Some(Kwargs::try_from(last.clone())?))),
        _ => Ok((args, None)),
    }
}

fn kwarg(kwargs: &Option<Kwargs>, key: &str) -> Result<Option<Value>, Error> {
    match kwargs {
        Some(k) => Ok(k.get::<Option<Value>>(key)?.filter(|v| !v.is_none())),
        None => Ok(None),
    }
}

/// A count argument (`r`, `repeat`, `times`).
fn count(v: &Value, what: &str) -> Result<usize, Error> {
    usize::try_from(v.clone()).map_err(|_| invalid(format!("`{what}` must be an integer >= 0")))
}

fn done(kwargs: Option<Kwargs>) -> Result<(), Error> {
    kwargs.map_or(Ok(()), |k| k.assert_all_used())
}

fn items(v: &Value) -> Result<Vec<Value>, Error> {
    Ok(v.try_iter()?.collect())
}

fn tuple(values: Vec<Value>) -> Value {
    Value::from(Tuple::from(values))
}

fn checked(len: usize) -> Result<(), Error> {
    if len > MAX_ITEMS {
        return Err(invalid(format!("itertools result has more than {MAX_ITEMS} items")));
    }
    Ok(())
}

/// Every way to pick `r` indices below `n`: in order, without repeats
/// (`combinations`), in order with repeats (`with_replacement`), or in any
/// order without repeats (`permutations`).
fn index_sets(n: usize, r: usize, ordered: bool, repeats: bool) -> Result<Vec<Vec<usize>>, Error> {
    fn go(n: usize, r: usize, ordered: bool, repeats: bool, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) -> bool {
        if cur.len() == r {
            out.push(cur.clone());
            return out.len() <= MAX_ITEMS;
        }
        let from = match (ordered, cur.last()) {
            (true, _) | (false, None) => 0,
            (false, Some(&last)) => last + usize::from(!repeats),
        };
        for i in from..n {
            if ordered && cur.contains(&i) {
                continue;
            }
            cur.push(i);
            let more = go(n, r, ordered, repeats, cur, out);
            cur.pop();
            if !more {
                return false;
            }
        }
        true
    }
    let mut out = Vec::new();
    if r <= n || repeats {
        go(n, r, ordered, repeats, &mut Vec::new(), &mut out);
    }
    checked(out.len())?;
    Ok(out)
}

fn pick(pool: &[Value], sets: Vec<Vec<usize>>) -> Value {
    Value::from(sets.into_iter().map(|s| tuple(s.into_iter().map(|i| pool[i].clone()).collect())).collect::<Vec<_>>())
}

fn chain(iterables: &[Value]) -> Result<Value, Error> {
    let mut out = Vec::new();
    for it in iterables {
        out.extend(it.try_iter()?);
        checked(out.len())?;
    }
    Ok(Value::from(out))
}

fn product(pools: Vec<Vec<Value>>) -> Result<Value, Error> {
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for pool in &pools {
        checked(out.len().saturating_mul(pool.len()))?;
        out = out
            .iter()
            .flat_map(|prefix| pool.iter().map(move |x| [prefix.as_slice(), &[x.clone()]].concat()))
            .collect();
    }
    Ok(Value::from(out.into_iter().map(tuple).collect::<Vec<_>>()))
}

/// Python's `islice(it, stop)` / `islice(it, start, stop[, step])`; `None` means unbounded.
fn islice(it: &Value, bounds: &[Value]) -> Result<Value, Error> {
    let num = |v: Option<&Value>| -> Result<Option<usize>, Error> {
        match v {
            None => Ok(None),
            Some(v) if v.is_none() => Ok(None),
            Some(v) => usize::try_from(v.clone())
                .map(Some)
                .map_err(|_| invalid("islice indices must be none or integers >= 0")),
        }
    };
    let (start, stop, step) = match bounds {
        [stop] => (None, num(Some(stop))?, None),
        [start, stop] => (num(Some(start))?, num(Some(stop))?, None),
        [start, stop, step] => (num(Some(start))?, num(Some(stop))?, num(Some(step))?),
        _ => return Err(invalid("islice expects 2 to 4 arguments")),
    };
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(invalid("step for islice() must be a positive integer or none"));
    }
    let start = start.unwrap_or(0);
    let taken = it.try_iter()?.take(stop.unwrap_or(usize::MAX)).skip(start).step_by(step).take(MAX_ITEMS + 1);
    let out: Vec<Value> = taken.collect();
    checked(out.len())?;
    Ok(Value::from(out))
}

/// `groupby(it, key=None)`: runs of equal keys, as `(key, [items])` pairs.
fn groupby(state: &mut State, it: &Value, key: Option<Value>) -> Result<Value, Error> {
    let mut groups: Vec<(Value, Vec<Value>)> = Vec::new();
    for x in it.try_iter()? {
        let k = match &key {
            Some(f) if !f.is_none() => f.call(state, std::slice::from_ref(&x))?,
            _ => x.clone(),
        };
        match groups.last_mut() {
            Some((last, members)) if *last == k => members.push(x),
            _ => groups.push((k, vec![x])),
        }
    }
    Ok(Value::from(groups.into_iter().map(|(k, xs)| tuple(vec![k, Value::from(xs)])).collect::<Vec<_>>()))
}

fn zip_longest(iterables: &[Value], fill: Value) -> Result<Value, Error> {
    let lists: Vec<Vec<Value>> = iterables.iter().map(items).collect::<Result<_, _>>()?;
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    let rows = (0..n).map(|i| tuple(lists.iter().map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone())).collect()));
    Ok(Value::from(rows.collect::<Vec<_>>()))
}

impl Object for Func {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (pos, kwargs) = split(args)?;
        let out = match (self.as_ref(), pos) {
            (Func::Product, pools) => {
                let repeat = kwarg(&kwargs, "repeat")?.map(|r| count(&r, "repeat")).transpose()?.unwrap_or(1);
                let pools: Vec<Vec<Value>> = pools.iter().map(items).collect::<Result<_, _>>()?;
                let all = (0..repeat).flat_map(|_| pools.iter().cloned()).collect();
                product(all)?
            }
            (Func::Chain, iterables) => chain(iterables)?,
            (Func::Combinations, [it, r]) => {
                let pool = items(it)?;
                let r = count(r, "r")?;
                pick(&pool, index_sets(pool.len(), r, false, false)?)
            }
            (Func::CombinationsWithReplacement, [it, r]) => {
                let pool = items(it)?;
                let r = count(r, "r")?;
                pick(&pool, index_sets(pool.len(), r, false, true)?)
            }
            (Func::Permutations, [it, rest @ ..]) if rest.len() <= 1 => {
                let pool = items(it)?;
                let r = match rest.first().cloned().or(kwarg(&kwargs, "r")?) {
                    Some(r) if !r.is_none() => count(&r, "r")?,
                    _ => pool.len(),
                };
                pick(&pool, index_sets(pool.len(), r, true, false)?)
            }
            (Func::Islice, [it, bounds @ ..]) => islice(it, bounds)?,
            (Func::Groupby, [it]) => groupby(state, it, kwarg(&kwargs, "key")?)?,
            (Func::Groupby, [it, key]) => groupby(state, it, Some(key.clone()))?,
            (Func::ZipLongest, iterables) => {
                zip_longest(iterables, kwarg(&kwargs, "fillvalue")?.unwrap_or(Value::from(())))?
            }
            (Func::Repeat, [x, times]) => {
                let n = count(times, "times")?;
                checked(n)?;
                Value::from(vec![x.clone(); n])
            }
            (Func::Repeat, [_]) => return Err(invalid("`repeat` without `times` never ends (hint: pass a count)")),
            (f, _) => {
                let name = FUNCS.iter().find(|(_, g)| g == f).map_or("?", |(n, _)| n);
                return Err(invalid(format!("wrong number of arguments for `itertools.{name}`")));
            }
        };
        done(kwargs)?;
        Ok(out)
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match (self.as_ref(), method, args) {
            (Func::Chain, "from_iterable", [outer]) => chain(&items(outer)?),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}
