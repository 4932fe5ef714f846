//! The PromQL side of [`Condition`](super::Condition) (feature `alerts`): parsing with
//! `promql-parser`, the check of the supported subset, and evaluation on the series store.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use promql_parser::label::{MatchOp, Matcher, METRIC_NAME};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, VectorMatchCardinality, VectorSelector,
};
use promql_parser::util::parse_duration;

use super::{guard, ExprError, Sample};
use crate::metrics::{name, MetricKind};
use crate::store::{SeriesData, SeriesStore};

/// How far back an instant selector looks for a point; also the window of `<base>_avg`.
const LOOKBACK: Duration = Duration::from_secs(300);

/// The functions the evaluator implements.
const FUNCTIONS: &[&str] = &[
    "rate",
    "increase",
    "delta",
    "irate",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "quantile_over_time",
    "abs",
    "clamp_min",
    "clamp_max",
    "vector",
    "scalar",
];

/// The aggregations the evaluator implements.
const AGGREGATIONS: &[&str] = &["sum", "avg", "min", "max", "count", "topk", "bottomk"];

type Labels = BTreeMap<String, String>;

/// Parses and checks a condition (see [`Condition::parse`](super::Condition::parse)).
pub(super) fn parse(source: &str) -> Result<Expr, ExprError> {
    guard::before_parsing(source)?;
    let parsed = std::panic::catch_unwind(|| promql_parser::parser::parse(source));
    let expr = match parsed {
        Ok(result) => result.map_err(|message| ExprError::Parse {
            expr: source.to_owned(),
            message,
        })?,
        // The guard above rules out the inputs known to panic in the parser; this
        // keeps one it does not know from taking the app down.
        Err(_) => {
            return Err(ExprError::Parse {
                expr: source.to_owned(),
                message: "the PromQL parser failed on this input".into(),
            })
        }
    };
    guard::depth(&expr)?;
    check(&expr)?;
    match expr.value_type() {
        ValueType::Vector => Ok(expr),
        ValueType::Scalar => Err(unsupported(
            "a scalar result (a condition must yield an instant vector, e.g. `vector(1) > 0`)",
        )),
        other => Err(unsupported(format!(
            "a {other} result (a condition must yield an instant vector)"
        ))),
    }
}

/// The series names `expr` reads (see [`Condition::series_names`](super::Condition::series_names)).
pub(super) fn series_names(expr: &Expr) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![expr];
    while let Some(node) = stack.pop() {
        match node {
            Expr::VectorSelector(vs) => names.extend(vs.name.iter().cloned()),
            Expr::MatrixSelector(ms) => names.extend(ms.vs.name.iter().cloned()),
            Expr::Paren(p) => stack.push(&p.expr),
            Expr::Unary(u) => stack.push(&u.expr),
            Expr::Subquery(sq) => stack.push(&sq.expr),
            Expr::Call(call) => stack.extend(call.args.args.iter().map(|a| a.as_ref())),
            Expr::Aggregate(agg) => {
                stack.push(&agg.expr);
                stack.extend(agg.param.iter().map(|p| p.as_ref()));
            }
            Expr::Binary(b) => stack.extend([&b.lhs, &b.rhs].map(|e| e.as_ref())),
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }
    let mut expanded = Vec::new();
    for name in &names {
        if let Some(base) = name.strip_suffix("_avg") {
            expanded.extend([name::histogram_sum(base), name::histogram_count(base)]);
        }
        if let Some((base, range)) = name.rsplit_once("_rate_") {
            if unit_duration(range).is_some() {
                expanded.extend([
                    name::exposed(base, MetricKind::Counter).into_owned(),
                    base.to_owned(),
                ]);
            }
        }
    }
    names.extend(expanded);
    names.sort();
    names.dedup();
    names
}

/// Evaluates `expr` at `now_ms` (see [`Condition::eval`](super::Condition::eval)).
pub(super) fn evaluate(
    expr: &Expr,
    store: &SeriesStore,
    now_ms: i64,
) -> Result<Vec<Sample>, ExprError> {
    let evaluator = Evaluator { store, now: now_ms };
    let mut samples = evaluator.eval(expr)?.into_vector()?;
    samples.sort_by(|a, b| a.labels.cmp(&b.labels));
    let mut pairs = samples.iter().zip(samples.iter().skip(1));
    if let Some((twin, _)) = pairs.find(|(a, b)| a.labels == b.labels) {
        return Err(ExprError::Eval {
            message: format!(
                "the result has several elements with labels {:?}",
                twin.labels
            ),
        });
    }
    Ok(samples)
}

fn unsupported(what: impl Into<String>) -> ExprError {
    ExprError::Unsupported { what: what.into() }
}

/// A type error: `parse` checks types, so evaluation never meets one.
fn mismatch(expected: &str) -> ExprError {
    ExprError::Eval {
        message: format!("expected {expected}"),
    }
}

/// Rejects what the evaluator does not implement.
fn check(expr: &Expr) -> Result<(), ExprError> {
    match expr {
        Expr::NumberLiteral(_) => Ok(()),
        Expr::Paren(paren) => check(&paren.expr),
        Expr::Unary(unary) => check(&unary.expr),
        Expr::VectorSelector(vs) => check_selector(vs),
        Expr::MatrixSelector(ms) => check_selector(&ms.vs),
        Expr::Call(call) if FUNCTIONS.contains(&call.func.name) => {
            call.args.args.iter().try_for_each(|arg| check(arg))
        }
        Expr::Call(call) => Err(unsupported(format!("function `{}`", call.func.name))),
        Expr::Aggregate(agg) if AGGREGATIONS.contains(&agg.op.to_string().as_str()) => {
            agg.param.iter().try_for_each(|param| check(param))?;
            check(&agg.expr)
        }
        Expr::Aggregate(agg) => Err(unsupported(format!("aggregation `{}`", agg.op))),
        Expr::Binary(binary) => {
            if let Some(modifier) = &binary.modifier {
                if matches!(
                    modifier.card,
                    VectorMatchCardinality::ManyToOne(_) | VectorMatchCardinality::OneToMany(_)
                ) {
                    return Err(unsupported("`group_left` / `group_right` modifiers"));
                }
                if modifier.fill_values.lhs.is_some() || modifier.fill_values.rhs.is_some() {
                    return Err(unsupported("`fill` modifiers"));
                }
            }
            check(&binary.lhs)?;
            check(&binary.rhs)
        }
        Expr::Subquery(_) => Err(unsupported("subqueries")),
        Expr::StringLiteral(_) => Err(unsupported("string literals")),
        Expr::Extension(_) => Err(unsupported("extension expressions")),
    }
}

fn check_selector(vs: &VectorSelector) -> Result<(), ExprError> {
    if vs.offset.is_some() {
        Err(unsupported("`offset` modifier"))
    } else if vs.at.is_some() {
        Err(unsupported("`@` modifier"))
    } else if !vs.matchers.or_matchers.is_empty() {
        Err(unsupported("`or` in label matchers"))
    } else {
        Ok(())
    }
}

/// An intermediate result.
enum Value {
    Scalar(f64),
    Vector(Vec<Sample>),
    /// Series with their points in `(now - range, now]`, and the range.
    Matrix(Vec<SeriesData>, Duration),
}

impl Value {
    fn into_scalar(self) -> Result<f64, ExprError> {
        match self {
            Value::Scalar(value) => Ok(value),
            _ => Err(mismatch("a scalar")),
        }
    }

    fn into_vector(self) -> Result<Vec<Sample>, ExprError> {
        match self {
            Value::Vector(samples) => Ok(samples),
            _ => Err(mismatch("an instant vector")),
        }
    }

    fn into_matrix(self) -> Result<(Vec<SeriesData>, Duration), ExprError> {
        match self {
            Value::Matrix(series, range) => Ok((series, range)),
            _ => Err(mismatch("a range vector")),
        }
    }
}

/// Evaluates expressions at one instant.
struct Evaluator<'a> {
    store: &'a SeriesStore,
    now: i64,
}

impl Evaluator<'_> {
    fn eval(&self, expr: &Expr) -> Result<Value, ExprError> {
        Ok(match expr {
            Expr::NumberLiteral(number) => Value::Scalar(number.val),
            Expr::Paren(paren) => self.eval(&paren.expr)?,
            Expr::Unary(unary) => match self.eval(&unary.expr)? {
                Value::Scalar(value) => Value::Scalar(-value),
                value => Value::Vector(map_values(value.into_vector()?, |v| Some(-v))),
            },
            Expr::VectorSelector(vs) => Value::Vector(self.instant(vs)?),
            Expr::MatrixSelector(ms) => Value::Matrix(self.select(&ms.vs, ms.range), ms.range),
            Expr::Call(call) => self.call(call)?,
            Expr::Aggregate(agg) => Value::Vector(self.aggregate(agg)?),
            Expr::Binary(binary) => self.binary(binary)?,
            Expr::StringLiteral(_) | Expr::Subquery(_) | Expr::Extension(_) => {
                return Err(mismatch("a supported expression"))
            }
        })
    }

    /// The series `vs` selects, with their points in `(now - range, now]`; series without
    /// such points are left out.
    fn select(&self, vs: &VectorSelector, range: Duration) -> Vec<SeriesData> {
        let since = self.now.saturating_sub(millis(range)).saturating_add(1);
        let resolution = millis(self.store.recent_resolution()).max(1);
        let slot = |t: i64| t.div_euclid(resolution);
        let (by_name, by_label): (Vec<&Matcher>, Vec<&Matcher>) = vs
            .matchers
            .matchers
            .iter()
            .partition(|m| m.name == METRIC_NAME);
        // Non-empty equalities narrow the store query (`label=""` also matches a missing
        // label); every matcher is then checked.
        let equal: Vec<(&str, &str)> = by_label
            .iter()
            .filter(|m| m.op == MatchOp::Equal && !m.value.is_empty())
            .map(|m| (m.name.as_str(), m.value.as_str()))
            .collect();
        let names = match &vs.name {
            Some(name) => vec![name.clone()],
            None => self.store.names(),
        };
        names
            .iter()
            .filter(|name| by_name.iter().all(|m| m.is_match(name)))
            .flat_map(|name| self.store.query(name, &equal, Some(since)))
            .filter_map(|mut series| {
                series
                    .points
                    .retain(|(t, _)| *t <= self.now || slot(*t) == slot(self.now));
                // The store keeps one point per slot, stamped with its newest sample: a
                // collection racing this evaluation can restamp the point that was
                // current at `now` a few milliseconds later. It still stands for `now`.
                if let Some(last) = series.points.last_mut() {
                    last.0 = last.0.min(self.now);
                }
                let label = |name: &str| series.labels.get(name).map_or("", String::as_str);
                let selected = !series.points.is_empty()
                    && by_label.iter().all(|m| m.is_match(label(&m.name)));
                selected.then_some(series)
            })
            .collect()
    }

    /// The newest point of each selected series within the lookback window, or the
    /// expansion of a short form.
    fn instant(&self, vs: &VectorSelector) -> Result<Vec<Sample>, ExprError> {
        let series = self.select(vs, LOOKBACK);
        if series.is_empty() {
            if let Some(samples) = self.short_form(vs)? {
                return Ok(samples);
            }
        }
        Ok(series
            .into_iter()
            .filter_map(|s| {
                Some(Sample {
                    value: s.points.last()?.1,
                    labels: s.labels,
                })
            })
            .collect())
    }

    /// Expands `<base>_avg` and `<base>_rate_<duration>` when the store has no series named
    /// like the selector.
    fn short_form(&self, vs: &VectorSelector) -> Result<Option<Vec<Sample>>, ExprError> {
        let Some(name) = vs.name.as_deref() else {
            return Ok(None);
        };
        let names = self.store.names();
        let exists = |name: &str| names.iter().any(|n| n == name);
        if exists(name) {
            return Ok(None);
        }
        let rate = |name: String, range: Duration| {
            let renamed = VectorSelector {
                name: Some(name),
                ..vs.clone()
            };
            let series = self.select(&renamed, range);
            per_series(series, |points| {
                extrapolate("rate", points, range, self.now)
            })
        };
        if let Some(base) = name.strip_suffix("_avg") {
            let sum = rate(name::histogram_sum(base), LOOKBACK);
            let count = rate(name::histogram_count(base), LOOKBACK);
            return vector_binary("/", sum, count, None, false).map(Some);
        }
        let rate_form = name
            .rsplit_once("_rate_")
            .and_then(|(base, range)| Some((base, unit_duration(range)?)));
        Ok(rate_form.map(|(base, range)| {
            let total = name::exposed(base, MetricKind::Counter).into_owned();
            let counter = if exists(&total) {
                total
            } else {
                base.to_owned()
            };
            rate(counter, range)
        }))
    }

    fn call(&self, call: &Call) -> Result<Value, ExprError> {
        let func = call.func.name;
        let mut args = call.args.args.iter();
        let mut next = || match args.next() {
            Some(arg) => self.eval(arg),
            None => Err(mismatch("another argument")),
        };
        Ok(match func {
            "vector" => Value::Vector(vec![Sample {
                labels: Labels::new(),
                value: next()?.into_scalar()?,
            }]),
            "scalar" => Value::Scalar(match next()?.into_vector()?.as_slice() {
                [only] => only.value,
                _ => f64::NAN,
            }),
            "abs" => Value::Vector(map_values(next()?.into_vector()?, |v| Some(v.abs()))),
            "clamp_min" | "clamp_max" => {
                let samples = next()?.into_vector()?;
                let bound = next()?.into_scalar()?;
                let min = func == "clamp_min";
                Value::Vector(map_values(samples, |v| {
                    Some(if (min && v < bound) || (!min && v > bound) {
                        bound
                    } else {
                        v
                    })
                }))
            }
            _ => {
                let phi = match func {
                    "quantile_over_time" => next()?.into_scalar()?,
                    _ => f64::NAN,
                };
                let (series, range) = next()?.into_matrix()?;
                Value::Vector(per_series(series, |points| {
                    over_range(func, phi, points, range, self.now)
                }))
            }
        })
    }

    fn aggregate(&self, agg: &AggregateExpr) -> Result<Vec<Sample>, ExprError> {
        let op = agg.op.to_string();
        let k = match &agg.param {
            Some(param) => self.eval(param)?.into_scalar()?,
            None => 0.0,
        };
        let mut groups: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
        for sample in self.eval(&agg.expr)?.into_vector()? {
            let key = agg
                .modifier
                .as_ref()
                .map_or_else(Labels::new, |m| project(&sample.labels, m));
            groups.entry(key).or_default().push(sample);
        }
        let mut out = Vec::new();
        for (labels, mut samples) in groups {
            let values = samples.iter().map(|s| s.value);
            let value = match op.as_str() {
                "sum" => values.sum(),
                "avg" => values.sum::<f64>() / samples.len() as f64,
                "min" => values.fold(f64::NAN, f64::min),
                "max" => values.fold(f64::NAN, f64::max),
                "count" => samples.len() as f64,
                _ => {
                    // `topk` / `bottomk`: elements keep their labels; NaN ranks last.
                    let top = op == "topk";
                    samples.sort_by(|a, b| {
                        let order = a.value.total_cmp(&b.value);
                        let order = if top { order.reverse() } else { order };
                        a.value.is_nan().cmp(&b.value.is_nan()).then(order)
                    });
                    samples.truncate(k as usize);
                    out.extend(samples);
                    continue;
                }
            };
            out.push(Sample { labels, value });
        }
        Ok(out)
    }

    fn binary(&self, binary: &BinaryExpr) -> Result<Value, ExprError> {
        let op = binary.op.to_string();
        let return_bool = binary.return_bool();
        Ok(match (self.eval(&binary.lhs)?, self.eval(&binary.rhs)?) {
            // The parser requires `bool` for comparisons between scalars.
            (Value::Scalar(l), Value::Scalar(r)) => {
                Value::Scalar(combine(&op, l, r, true, l).unwrap_or(f64::NAN))
            }
            (Value::Vector(lhs), Value::Scalar(r)) => {
                Value::Vector(map_values(lhs, |v| combine(&op, v, r, return_bool, v)))
            }
            (Value::Scalar(l), Value::Vector(rhs)) => {
                Value::Vector(map_values(rhs, |v| combine(&op, l, v, return_bool, v)))
            }
            (lhs, rhs) => {
                let matching = binary.modifier.as_ref().and_then(|m| m.matching.as_ref());
                let (lhs, rhs) = (lhs.into_vector()?, rhs.into_vector()?);
                Value::Vector(vector_binary(&op, lhs, rhs, matching, return_bool)?)
            }
        })
    }
}

/// A duration written with units (`5m`, `1h30m`), as in a short form's name; anything
/// else (`inf`, `1e300`, `15`) is not one. Overflow is an error, never a panic.
fn unit_duration(text: &str) -> Option<Duration> {
    let with_units = text.starts_with(|c: char| c.is_ascii_digit())
        && text.ends_with(|c: char| c.is_ascii_alphabetic())
        && text.parse::<f64>().is_err();
    with_units.then(|| parse_duration(text).ok()).flatten()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Replaces each value by `f(value)`, dropping the elements for which it is `None`.
fn map_values(samples: Vec<Sample>, f: impl Fn(f64) -> Option<f64>) -> Vec<Sample> {
    samples
        .into_iter()
        .filter_map(|s| {
            Some(Sample {
                value: f(s.value)?,
                labels: s.labels,
            })
        })
        .collect()
}

/// One element per series for which `f(points)` has a value.
fn per_series(series: Vec<SeriesData>, f: impl Fn(&[(i64, f64)]) -> Option<f64>) -> Vec<Sample> {
    series
        .into_iter()
        .filter_map(|s| {
            Some(Sample {
                value: f(&s.points)?,
                labels: s.labels,
            })
        })
        .collect()
}

/// The labels a `by` / `on` modifier lists, or all but those a `without` / `ignoring` lists.
fn project(labels: &Labels, modifier: &LabelModifier) -> Labels {
    let listed = &modifier.labels().labels;
    labels
        .iter()
        .filter(|(name, _)| listed.contains(name) == modifier.is_include())
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// The value of the range function `func` over `points` (oldest first, in
/// `(now - range, now]`, at least one).
fn over_range(
    func: &str,
    phi: f64,
    points: &[(i64, f64)],
    range: Duration,
    now: i64,
) -> Option<f64> {
    let values = points.iter().map(|(_, v)| *v);
    let count = points.len() as f64;
    match func {
        "rate" | "increase" | "delta" => extrapolate(func, points, range, now),
        "irate" => irate(points),
        "avg_over_time" => Some(values.sum::<f64>() / count),
        "min_over_time" => values.reduce(f64::min),
        "max_over_time" => values.reduce(f64::max),
        "sum_over_time" => Some(values.sum()),
        "count_over_time" => Some(count),
        "quantile_over_time" => quantile(phi, values.collect()),
        _ => None,
    }
}

/// `rate`, `increase` or `delta` of `points` in `(now - range, now]`, extrapolated to the
/// window edges like Prometheus. For `rate` and `increase` a drop is a counter reset (a
/// restart from zero) and the extrapolation stops where the counter would reach zero.
fn extrapolate(func: &str, points: &[(i64, f64)], range: Duration, now: i64) -> Option<f64> {
    let (&(first_t, first), &(last_t, last)) = (points.first()?, points.last()?);
    if points.len() < 2 {
        return None;
    }
    let counter = func != "delta";
    let mut increase = last - first;
    if counter {
        let pairs = points.iter().zip(points.iter().skip(1));
        increase += pairs
            .filter(|(a, b)| b.1 < a.1)
            .map(|(a, _)| a.1)
            .sum::<f64>();
    }
    let secs = |ms: i64| ms as f64 / 1000.0;
    let sampled = secs(last_t - first_t);
    let step = sampled / (points.len() - 1) as f64;
    // Within 1.1 steps of an edge, the series is assumed to go on to the edge; further
    // away, it is assumed to start or end half a step beyond its first or last point.
    let edge = |gap: f64| if gap < step * 1.1 { gap } else { step / 2.0 };
    let mut to_start = edge(secs(
        first_t.saturating_sub(now.saturating_sub(millis(range))),
    ));
    let to_end = edge(secs(now.saturating_sub(last_t)));
    if counter && increase > 0.0 && first >= 0.0 {
        to_start = to_start.min(sampled * first / increase);
    }
    let value = increase * (sampled + to_start + to_end) / sampled;
    Some(match func {
        "rate" => value / range.as_secs_f64(),
        _ => value,
    })
}

/// The per-second rate between the last two points; a drop is a counter reset.
fn irate(points: &[(i64, f64)]) -> Option<f64> {
    let [.., (t1, v1), (t2, v2)] = points else {
        return None;
    };
    let delta = if v2 < v1 { *v2 } else { v2 - v1 };
    (t2 > t1).then(|| delta / ((t2 - t1) as f64 / 1000.0))
}

/// The φ-quantile of `values`, interpolating between the closest ranks like Prometheus.
fn quantile(phi: f64, mut values: Vec<f64>) -> Option<f64> {
    let last = values.len().checked_sub(1)?;
    if phi.is_nan() || !(0.0..=1.0).contains(&phi) {
        return Some(if phi < 0.0 {
            f64::NEG_INFINITY
        } else if phi > 1.0 {
            f64::INFINITY
        } else {
            f64::NAN
        });
    }
    values.sort_by(f64::total_cmp);
    let rank = phi * last as f64;
    let lower = rank.floor() as usize;
    let weight = rank - rank.floor();
    Some(values.get(lower)? * (1.0 - weight) + values.get((lower + 1).min(last))? * weight)
}

/// `l op r` for one pair of operands. A comparison yields 0 or 1 with `bool`; without, it
/// keeps `kept` (the vector element's value) when it holds and drops the element (`None`)
/// when it does not.
fn combine(op: &str, l: f64, r: f64, return_bool: bool, kept: f64) -> Option<f64> {
    let holds = match op {
        "==" => l == r,
        "!=" => l != r,
        ">" => l > r,
        "<" => l < r,
        ">=" => l >= r,
        "<=" => l <= r,
        "+" => return Some(l + r),
        "-" => return Some(l - r),
        "*" => return Some(l * r),
        "/" => return Some(l / r),
        "%" => return Some(l % r),
        "^" => return Some(l.powf(r)),
        "atan2" => return Some(l.atan2(r)),
        // Set operators only occur between vectors, in `vector_binary`.
        _ => return Some(f64::NAN),
    };
    if return_bool {
        Some(if holds { 1.0 } else { 0.0 })
    } else {
        holds.then_some(kept)
    }
}

/// A binary operation between two vectors, matching elements on all their labels, or on
/// those `on` lists, or all but those `ignoring` lists. Arithmetic and comparisons match
/// one-to-one and label the result with the matching labels.
fn vector_binary(
    op: &str,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
    matching: Option<&LabelModifier>,
    return_bool: bool,
) -> Result<Vec<Sample>, ExprError> {
    let signature =
        |s: &Sample| matching.map_or_else(|| s.labels.clone(), |m| project(&s.labels, m));
    match op {
        "and" | "unless" => {
            let right: HashSet<Labels> = rhs.iter().map(signature).collect();
            let keep = op == "and";
            return Ok(lhs
                .into_iter()
                .filter(|s| right.contains(&signature(s)) == keep)
                .collect());
        }
        "or" => {
            let left: HashSet<Labels> = lhs.iter().map(signature).collect();
            let mut out = lhs;
            out.extend(rhs.into_iter().filter(|s| !left.contains(&signature(s))));
            return Ok(out);
        }
        _ => {}
    }
    let mut right = HashMap::new();
    for sample in &rhs {
        let key = signature(sample);
        if right.insert(key.clone(), sample.value).is_some() {
            return Err(ExprError::Eval {
                message: format!(
                    "several series match {key:?} on the right-hand side of `{op}` \
                     (many-to-many matching is not allowed)"
                ),
            });
        }
    }
    let mut matched = HashSet::new();
    let mut out = Vec::new();
    for sample in lhs {
        let key = signature(&sample);
        let Some(&r) = right.get(&key) else {
            continue;
        };
        if !matched.insert(key.clone()) {
            return Err(ExprError::Eval {
                message: format!(
                    "several series match {key:?} on the left-hand side of `{op}` \
                     (many-to-one matching is not supported)"
                ),
            });
        }
        if let Some(value) = combine(op, sample.value, r, return_bool, sample.value) {
            out.push(Sample { labels: key, value });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::expr::Condition;
    use crate::config::MetricsConfig;
    use crate::metrics::{MetricSnapshot, SeriesSnapshot, SeriesValue, Snapshot, SnapshotKind};

    const NOW: i64 = 1_700_000_000_000;

    type Pairs<'a> = &'a [(&'a str, &'a str)];
    type Expected<'a> = &'a [(Pairs<'a>, f64)];

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Ingests `(seconds before NOW, value)` points, oldest first.
    fn put(store: &SeriesStore, name: &str, pairs: &[(&str, &str)], points: &[(i64, f64)]) {
        for &(ago, value) in points {
            store.ingest(&snapshot(ago, name, pairs, SeriesValue::Number { value }));
        }
    }

    fn snapshot(ago: i64, name: &str, pairs: &[(&str, &str)], value: SeriesValue) -> Snapshot {
        let kind = match value {
            SeriesValue::Number { .. } => SnapshotKind::Gauge,
            SeriesValue::Histogram { .. } => SnapshotKind::Histogram,
        };
        Snapshot {
            timestamp_ms: NOW - ago * 1000,
            metrics: vec![MetricSnapshot {
                name: name.into(),
                kind,
                help: String::new(),
                series: vec![SeriesSnapshot {
                    labels: labels(pairs),
                    value,
                }],
            }],
        }
    }

    /// A counter growing by `step` every 10 s over the last 10 minutes.
    fn counter(store: &SeriesStore, name: &str, pairs: &[(&str, &str)], start: f64, step: f64) {
        let points: Vec<(i64, f64)> = (0..=60)
            .map(|k| (600 - 10 * k, start + step * k as f64))
            .collect();
        put(store, name, pairs, &points);
    }

    /// The data of the spec's rules, over their thresholds when `hot`, under them if not;
    /// plus series for the feature tests.
    fn fixture(hot: bool) -> SeriesStore {
        let store = SeriesStore::new(&MetricsConfig {
            collection_interval: Duration::from_secs(1),
            retention_period: Duration::from_secs(3600),
            max_points_per_series: 10_000,
            ..Default::default()
        });
        let (cpu, mean, errors, available, health) = if hot {
            (95.0, 40_000, 20.0, 5e9, 3.0)
        } else {
            (50.0, 20_000, 0.5, 50e9, 0.0)
        };
        let cpu_points = [(50, 60.0), (40, 70.0), (30, 80.0), (20, 90.0), (5, cpu)];
        put(
            &store,
            "system_cpu_usage_percent",
            &[("core", "0")],
            &cpu_points,
        );
        put(
            &store,
            "system_cpu_usage_percent",
            &[("core", "1")],
            &[(5, 40.0)],
        );
        // Stale: older than the 5-minute lookback.
        put(
            &store,
            "system_cpu_usage_percent",
            &[("core", "2")],
            &[(400, 99.0)],
        );
        put(&store, "system_health_status", &[], &[(10, health)]);
        for (mount, available) in [("/", available), ("/data", 50e9)] {
            let pairs = [("mount", mount)];
            put(
                &store,
                "system_disk_available_bytes",
                &pairs,
                &[(10, available)],
            );
            put(&store, "system_disk_usage_bytes", &pairs, &[(10, 100e9)]);
        }
        for k in 0..=60u64 {
            let value = SeriesValue::Histogram {
                count: k,
                sum: (mean * k) as f64,
                buckets: vec![],
            };
            let ago = 600 - 10 * k as i64;
            store.ingest(&snapshot(ago, "video_processing_duration_ms", &[], value));
        }
        let upload = [("endpoint", "/upload"), ("service", "api")];
        let health_check = [("endpoint", "/health"), ("service", "api")];
        counter(&store, "api_requests_total", &upload, 0.0, 100.0);
        counter(&store, "api_requests_total", &health_check, 0.0, 100.0);
        counter(&store, "api_errors_total", &upload, 0.0, errors);
        counter(&store, "api_errors_total", &health_check, 5.0, 0.0);
        // Starts and ends more than 1.1 steps from the window edges.
        put(
            &store,
            "gappy_total",
            &[],
            &[(200, 100.0), (140, 160.0), (80, 220.0)],
        );
        // Extrapolating 10 s to the window start would go below zero.
        let near_zero = [
            (290, 1.0),
            (230, 61.0),
            (170, 121.0),
            (110, 181.0),
            (50, 241.0),
        ];
        put(&store, "near_zero_total", &[], &near_zero);
        let reset = [
            (50, 100.0),
            (40, 110.0),
            (30, 120.0),
            (20, 5.0),
            (10, 15.0),
            (0, 25.0),
        ];
        put(&store, "reset_total", &[], &reset);
        put(
            &store,
            "falling",
            &[],
            &[(200, 220.0), (140, 160.0), (80, 100.0)],
        );
        put(&store, "restarted_total", &[], &[(20, 50.0), (10, 4.0)]);
        put(&store, "lonely_total", &[], &[(30, 7.0)]);
        put(&store, "real_avg", &[], &[(10, 7.0)]);
        store
    }

    fn close(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    fn assert_eval(store: &SeriesStore, expr: &str, expected: Expected<'_>) {
        let condition = Condition::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let got = condition
            .eval(store, NOW)
            .unwrap_or_else(|e| panic!("{expr}: {e}"));
        let mut want: Vec<Sample> = expected
            .iter()
            .map(|(pairs, value)| Sample {
                labels: labels(pairs),
                value: *value,
            })
            .collect();
        want.sort_by(|a, b| a.labels.cmp(&b.labels));
        let same = got.len() == want.len()
            && got
                .iter()
                .zip(&want)
                .all(|(g, w)| g.labels == w.labels && close(g.value, w.value));
        assert!(same, "{expr}\n got: {got:?}\nwant: {want:?}");
    }

    #[test]
    fn the_spec_rules_fire_on_hot_data_and_stay_quiet_on_calm_data() {
        let upload: Pairs<'_> = &[("endpoint", "/upload"), ("service", "api")];
        let rules: [(&str, Expected<'_>); 7] = [
            ("system_cpu_usage_percent > 80", &[(&[("core", "0")], 95.0)]),
            (
                "rate(video_processing_duration_ms_sum[5m]) / rate(video_processing_duration_ms_count[5m]) > 30000",
                &[(&[], 40_000.0)],
            ),
            (
                "rate(api_errors_total[5m]) / rate(api_requests_total[5m]) > 0.1",
                &[(upload, 0.2)],
            ),
            (
                "(system_disk_available_bytes / system_disk_usage_bytes) < 0.1",
                &[(&[("mount", "/")], 0.05)],
            ),
            ("system_health_status == 3", &[(&[], 3.0)]),
            ("video_processing_duration_ms_avg > 30000", &[(&[], 40_000.0)]),
            // 20 errors per 10 s.
            ("api_errors_rate_5m > 0.1", &[(upload, 2.0)]),
        ];
        let (hot, calm) = (fixture(true), fixture(false));
        for (rule, firing) in rules {
            assert_eval(&hot, rule, firing);
            assert_eval(&calm, rule, &[]);
        }
    }

    #[test]
    fn features() {
        let upload: Pairs<'_> = &[("endpoint", "/upload"), ("service", "api")];
        let health: Pairs<'_> = &[("endpoint", "/health"), ("service", "api")];
        let (core0, core1): (Pairs<'_>, Pairs<'_>) = (&[("core", "0")], &[("core", "1")]);
        let cases: &[(&str, Expected<'_>)] = &[
            // Literals, parentheses, unary minus, scalar arithmetic.
            ("vector(1) + 2", &[(&[], 3.0)]),
            ("-vector(2) * (3 + 1)", &[(&[], -8.0)]),
            ("vector(2 ^ 3 % 5 - -1)", &[(&[], 4.0)]),
            ("vector(1) / 0", &[(&[], f64::INFINITY)]),
            ("vector(0) / 0", &[(&[], f64::NAN)]),
            ("vector(1 > bool 2) + vector(3 >= bool 3)", &[(&[], 1.0)]),
            // Selectors: lookback (core 2 is stale) and label matchers.
            ("system_cpu_usage_percent", &[(core0, 95.0), (core1, 40.0)]),
            ("system_cpu_usage_percent{core!=\"0\"}", &[(core1, 40.0)]),
            (
                "system_cpu_usage_percent{core=~\"0|1\"}",
                &[(core0, 95.0), (core1, 40.0)],
            ),
            ("system_cpu_usage_percent{core!~\"0\"}", &[(core1, 40.0)]),
            ("api_requests_total{endpoint=~\"/up\"}", &[]),
            (
                "api_requests_total{endpoint=~\"/up.*\"}",
                &[(upload, 6000.0)],
            ),
            ("{__name__=\"system_health_status\"}", &[(&[], 3.0)]),
            (
                "{__name__=~\"system_health.*\", missing=\"\"}",
                &[(&[], 3.0)],
            ),
            ("system_health_status{missing=\"x\"}", &[]),
            ("no_such_metric", &[]),
            // rate / increase: a regular counter, 20 per 10 s.
            (
                "rate(api_errors_total[5m])",
                &[(upload, 2.0), (health, 0.0)],
            ),
            // Points at -200 s, -140 s, -80 s: both gaps exceed 1.1 × 60 s, so the
            // extrapolation adds 30 s at each end: 120 × 180 / 120.
            ("increase(gappy_total[5m])", &[(&[], 180.0)]),
            ("rate(gappy_total[5m])", &[(&[], 0.6)]),
            // Points 1 … 241 from -290 s to -50 s: the start is extrapolated by 1 s (where the
            // counter reaches zero) instead of 10 s, the end by 50 s: 240 × 291 / 240.
            ("increase(near_zero_total[5m])", &[(&[], 291.0)]),
            // 100, 110, 120, reset, 5, 15, 25 from -50 s: 45 over 50 s, extrapolated to 60 s.
            ("increase(reset_total[1m])", &[(&[], 54.0)]),
            ("rate(reset_total[1m])", &[(&[], 0.9)]),
            ("irate(reset_total[1m])", &[(&[], 1.0)]),
            // The last step is a reset: 4 over 10 s.
            ("irate(restarted_total[1m])", &[(&[], 0.4)]),
            ("delta(falling[5m])", &[(&[], -180.0)]),
            ("rate(lonely_total[5m])", &[]),
            ("rate(lonely_total[5m]) or vector(0)", &[(&[], 0.0)]),
            // *_over_time on 60, 70, 80, 90, 95.
            (
                "avg_over_time(system_cpu_usage_percent{core=\"0\"}[1m])",
                &[(core0, 79.0)],
            ),
            (
                "min_over_time(system_cpu_usage_percent{core=\"0\"}[1m])",
                &[(core0, 60.0)],
            ),
            (
                "max_over_time(system_cpu_usage_percent{core=\"0\"}[1m])",
                &[(core0, 95.0)],
            ),
            (
                "sum_over_time(system_cpu_usage_percent{core=\"0\"}[1m])",
                &[(core0, 395.0)],
            ),
            (
                "count_over_time(system_cpu_usage_percent{core=\"0\"}[25s])",
                &[(core0, 2.0)],
            ),
            (
                "quantile_over_time(0.9, system_cpu_usage_percent{core=\"0\"}[1m])",
                &[(core0, 93.0)],
            ),
            // Other functions.
            ("abs(-system_health_status)", &[(&[], 3.0)]),
            (
                "clamp_min(system_cpu_usage_percent, 50)",
                &[(core0, 95.0), (core1, 50.0)],
            ),
            (
                "clamp_max(system_cpu_usage_percent, 50)",
                &[(core0, 50.0), (core1, 40.0)],
            ),
            ("vector(scalar(system_health_status) * 2)", &[(&[], 6.0)]),
            (
                "vector(scalar(system_cpu_usage_percent))",
                &[(&[], f64::NAN)],
            ),
            // Aggregations.
            ("sum(system_cpu_usage_percent)", &[(&[], 135.0)]),
            ("avg(system_cpu_usage_percent)", &[(&[], 67.5)]),
            ("min(system_cpu_usage_percent)", &[(&[], 40.0)]),
            ("max(system_cpu_usage_percent)", &[(&[], 95.0)]),
            ("count(system_cpu_usage_percent)", &[(&[], 2.0)]),
            (
                "sum by (service) (api_requests_total)",
                &[(&[("service", "api")], 12_000.0)],
            ),
            (
                "max without (endpoint) (api_requests_total)",
                &[(&[("service", "api")], 6000.0)],
            ),
            (
                "count by (endpoint) (api_requests_total)",
                &[
                    (&[("endpoint", "/health")], 1.0),
                    (&[("endpoint", "/upload")], 1.0),
                ],
            ),
            ("topk(1, system_cpu_usage_percent)", &[(core0, 95.0)]),
            ("bottomk(1, system_cpu_usage_percent)", &[(core1, 40.0)]),
            // Vector-scalar arithmetic and comparisons.
            (
                "system_cpu_usage_percent - 5",
                &[(core0, 90.0), (core1, 35.0)],
            ),
            (
                "2 * system_cpu_usage_percent",
                &[(core0, 190.0), (core1, 80.0)],
            ),
            ("80 < system_cpu_usage_percent", &[(core0, 95.0)]),
            (
                "system_cpu_usage_percent > bool 80",
                &[(core0, 1.0), (core1, 0.0)],
            ),
            ("system_cpu_usage_percent == 40", &[(core1, 40.0)]),
            ("system_cpu_usage_percent != 40", &[(core0, 95.0)]),
            ("system_cpu_usage_percent >= 95", &[(core0, 95.0)]),
            ("system_cpu_usage_percent <= 40", &[(core1, 40.0)]),
            // Vector-vector matching.
            (
                "system_disk_available_bytes > system_disk_usage_bytes * 0.1",
                &[(&[("mount", "/data")], 50e9)],
            ),
            (
                "system_disk_available_bytes > bool system_disk_usage_bytes",
                &[(&[("mount", "/")], 0.0), (&[("mount", "/data")], 0.0)],
            ),
            ("system_health_status + on() vector(1)", &[(&[], 4.0)]),
            (
                "api_requests_total / sum by (endpoint) (api_requests_total)",
                &[],
            ),
            (
                "api_requests_total / ignoring(service) sum by (endpoint) (api_requests_total)",
                &[
                    (&[("endpoint", "/health")], 1.0),
                    (&[("endpoint", "/upload")], 1.0),
                ],
            ),
            (
                "api_requests_total / on(endpoint) sum by (endpoint, service) (api_requests_total)",
                &[
                    (&[("endpoint", "/health")], 1.0),
                    (&[("endpoint", "/upload")], 1.0),
                ],
            ),
            // Set operators.
            (
                "system_cpu_usage_percent and system_cpu_usage_percent > 80",
                &[(core0, 95.0)],
            ),
            (
                "system_cpu_usage_percent unless system_cpu_usage_percent > 80",
                &[(core1, 40.0)],
            ),
            (
                "system_health_status or system_cpu_usage_percent",
                &[(&[], 3.0), (core0, 95.0), (core1, 40.0)],
            ),
            (
                "system_cpu_usage_percent and on() system_health_status == 3",
                &[(core0, 95.0), (core1, 40.0)],
            ),
            (
                "system_cpu_usage_percent and on() system_health_status == 0",
                &[],
            ),
            // Short forms: label matchers apply, a stored series wins, `<base>` without `_total`.
            ("api_errors_rate_5m{endpoint=\"/health\"}", &[(health, 0.0)]),
            ("video_processing_duration_ms_avg", &[(&[], 40_000.0)]),
            ("real_avg", &[(&[], 7.0)]),
            ("reset_total_rate_1m", &[(&[], 0.9)]),
            ("reset_rate_1m", &[(&[], 0.9)]),
            ("api_errors_rate_soon", &[]),
        ];
        let store = fixture(true);
        for (expr, expected) in cases {
            assert_eval(&store, expr, expected);
        }
    }

    #[test]
    fn parse_errors_carry_the_parser_message() {
        let err = Condition::parse("rate(x[5m]").unwrap_err();
        let ExprError::Parse { expr, message } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(expr, "rate(x[5m]");
        assert!(message.contains("unclosed left parenthesis"), "{message}");
        assert_eq!(
            err.to_string(),
            "cannot parse \"rate(x[5m]\": unclosed left parenthesis"
        );
        for bad in ["x >", "foo{a=}", "rate(x)", "1 > 2", "sum(x", ""] {
            assert!(
                matches!(Condition::parse(bad), Err(ExprError::Parse { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn unsupported_features_are_named_at_parse_time() {
        let cases = [
            (
                "histogram_quantile(0.9, x)",
                "function `histogram_quantile`",
            ),
            (
                "label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")",
                "function `label_replace`",
            ),
            ("stddev(x)", "aggregation `stddev`"),
            ("x offset 5m", "`offset` modifier"),
            ("rate(x[5m] offset 1m)", "`offset` modifier"),
            ("x @ 100", "`@` modifier"),
            ("max_over_time(rate(x[1m])[5m:1m])", "subqueries"),
            (
                "x + on(a) group_left y",
                "`group_left` / `group_right` modifiers",
            ),
            ("x{a=\"1\" or b=\"2\"}", "`or` in label matchers"),
            ("\"text\"", "string literals"),
            ("1 > bool 0", "a scalar result"),
            ("x[5m]", "a matrix result"),
        ];
        for (expr, what) in cases {
            match Condition::parse(expr) {
                Err(ExprError::Unsupported { what: got }) => {
                    assert!(got.starts_with(what), "{expr}: {got}")
                }
                other => panic!("{expr}: {other:?}"),
            }
        }
    }

    #[test]
    fn ambiguous_matching_is_an_evaluation_error() {
        let store = fixture(true);
        for expr in [
            "system_cpu_usage_percent + on() vector(1)",
            "vector(1) + on() system_cpu_usage_percent",
        ] {
            let result = Condition::parse(expr).unwrap().eval(&store, NOW);
            assert!(
                matches!(&result, Err(ExprError::Eval { message }) if message.contains("several series")),
                "{expr}: {result:?}"
            );
        }
    }

    #[test]
    fn source_is_kept() {
        let condition = Condition::parse("system_health_status == 3").unwrap();
        assert_eq!(condition.source(), "system_health_status == 3");
    }
}
