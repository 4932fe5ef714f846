//! Limits a condition meets before and right after parsing, so that no text (from a
//! config file, the app or the network) can make parsing or evaluation panic, overflow a
//! stack or run without bound.
//!
//! - At most [`MAX_CONDITION_BYTES`] of text.
//! - Range and subquery durations and `offset` values written as plain numbers
//!   (`x[1e300]`, `x[Inf]`) must be finite seconds up to [`MAX_RANGE_SECONDS`]: the parser
//!   turns them into a `Duration` without a check, which panics.
//! - At most [`MAX_CONDITION_DEPTH`] levels of nesting (parentheses, unary minus, operator
//!   chains, function calls), measured without recursion; evaluation recurses once per
//!   level, on whatever stack the evaluating task has.

use promql_parser::parser::Expr;

use super::ExprError;

/// The longest condition accepted, in bytes.
pub(crate) const MAX_CONDITION_BYTES: usize = 2048;

/// The deepest nesting accepted in a condition.
pub(crate) const MAX_CONDITION_DEPTH: usize = 64;

/// The longest range, subquery step or offset written as a plain number of seconds
/// (about 100 years).
const MAX_RANGE_SECONDS: f64 = 3.2e9;

fn too(source: &str, message: String) -> ExprError {
    ExprError::Parse {
        expr: source.to_owned(),
        message,
    }
}

/// Checks the text: its length, and each duration written as a plain number.
pub(super) fn before_parsing(source: &str) -> Result<(), ExprError> {
    if source.len() > MAX_CONDITION_BYTES {
        let head: String = source.chars().take(64).collect();
        return Err(too(
            &head,
            format!(
                "the condition is {} bytes long; at most {MAX_CONDITION_BYTES} are accepted",
                source.len()
            ),
        ));
    }
    for number in duration_numbers(source) {
        let seconds = number_value(number);
        let fits = seconds.is_some_and(|s| s.is_finite() && (0.0..=MAX_RANGE_SECONDS).contains(&s));
        if seconds.is_some() && !fits {
            return Err(too(
                source,
                format!(
                    "the duration {number:?} is out of range: give finite seconds up to \
                     {MAX_RANGE_SECONDS:e}, or a duration with units such as 5m"
                ),
            ));
        }
    }
    Ok(())
}

/// The words in duration positions: right after `[`, after `:` inside brackets, and after
/// the `offset` keyword (and its sign). Quoted strings are skipped.
fn duration_numbers(source: &str) -> Vec<&str> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut in_brackets = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let starts_word = match c {
            b'"' | b'\'' | b'`' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'[' => {
                in_brackets = true;
                true
            }
            b']' => {
                in_brackets = false;
                false
            }
            b':' => in_brackets,
            _ if is_word(c) => {
                let end = word_end(bytes, i);
                let keyword = source[i..end].eq_ignore_ascii_case("offset");
                i = end;
                if !keyword {
                    continue;
                }
                // `i` is past the keyword; the loop's step below must not skip a byte.
                i -= 1;
                true
            }
            _ => false,
        };
        i += 1;
        if starts_word {
            let start = skip(bytes, i, |b| {
                b.is_ascii_whitespace() || b == b'+' || b == b'-'
            });
            let end = number_end(bytes, start);
            if end > start {
                out.push(&source[start..end]);
            }
            i = i.max(start);
        }
    }
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn word_end(bytes: &[u8], from: usize) -> usize {
    skip(bytes, from, is_word)
}

fn skip(bytes: &[u8], from: usize, what: impl Fn(u8) -> bool) -> usize {
    let mut i = from;
    while i < bytes.len() && what(bytes[i]) {
        i += 1;
    }
    i
}

/// The end of a number the lexer would read at `from`: digits, hex digits, a dot, an
/// exponent with its sign, or a word such as `Inf` / `NaN`.
fn number_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        let exponent_sign =
            (b == b'+' || b == b'-') && i > from && matches!(bytes[i - 1], b'e' | b'E');
        if is_word(b) || b == b'.' || exponent_sign {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// The index after the string that opens at `from` (its quote), escapes included.
fn skip_string(bytes: &[u8], from: usize) -> usize {
    let quote = bytes[from];
    let mut i = from + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// The value of `word` when the lexer would read it as a number (decimal, hex, octal,
/// `Inf`, `NaN`); `None` for anything else (`5m`, `5mxM`, a name).
fn number_value(word: &str) -> Option<f64> {
    let lower = word.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    match unsigned {
        "inf" => return Some(f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if let Some(hex) = unsigned.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    let octal = unsigned.len() > 1
        && unsigned.starts_with('0')
        && unsigned.bytes().all(|b| (b'0'..=b'7').contains(&b));
    if octal {
        return i64::from_str_radix(unsigned, 8).ok().map(|v| v as f64);
    }
    let decimal = unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || b"._e+-".contains(&b));
    decimal.then(|| unsigned.parse::<f64>().ok()).flatten()
}

/// Checks the nesting depth of a parsed expression, without recursion.
pub(super) fn depth(expr: &Expr) -> Result<(), ExprError> {
    let mut stack = vec![(expr, 1_usize)];
    while let Some((node, level)) = stack.pop() {
        if level > MAX_CONDITION_DEPTH {
            return Err(ExprError::Unsupported {
                what: format!(
                    "more than {MAX_CONDITION_DEPTH} levels of nesting (split the condition into \
                     simpler rules)"
                ),
            });
        }
        let next = level + 1;
        match node {
            Expr::Paren(p) => stack.push((&p.expr, next)),
            Expr::Unary(u) => stack.push((&u.expr, next)),
            Expr::Subquery(s) => stack.push((&s.expr, next)),
            Expr::Call(call) => stack.extend(call.args.args.iter().map(|a| (a.as_ref(), next))),
            Expr::Aggregate(agg) => {
                stack.push((&agg.expr, next));
                stack.extend(agg.param.iter().map(|p| (p.as_ref(), next)));
            }
            Expr::Binary(b) => {
                stack.push((&b.lhs, next));
                stack.push((&b.rhs, next));
            }
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::VectorSelector(_)
            | Expr::MatrixSelector(_)
            | Expr::Extension(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Condition;
    use super::*;

    fn parse_error(source: &str) -> String {
        Condition::parse(source)
            .expect_err("the condition must be refused")
            .to_string()
    }

    #[test]
    fn numbers_in_duration_positions_must_fit_a_duration() {
        for source in [
            "rate(x[1e300]) > 0",
            "rate(x[Inf]) > 0",
            "rate(x[ NaN ]) > 0",
            "rate(x[1e+30]) > 0",
            "x offset 1e300 > 0",
            "x offset -Inf > 0",
            "max_over_time(x[5m:1e300]) > 0",
        ] {
            let message = parse_error(source);
            assert!(message.contains("out of range"), "{source}: {message}");
        }
        // Ordinary ranges, and huge numbers where they are not durations, are fine.
        Condition::parse("rate(x[5m]) > 1e300").expect("a huge threshold is a number");
        Condition::parse("rate(x[90]) > Inf").expect("90 seconds");
        Condition::parse("x{path=\"[1e300]\"} > 0").expect("inside a string");
    }

    #[test]
    fn words_that_look_half_like_numbers_are_left_to_the_parser() {
        // Found by the config_json fuzz target: `5mxM` once reached a number parser that
        // panics on an `x` without `0x`.
        let source = "rabbbbte([5mxM) > 1";
        assert!(parse_error(source).contains("cannot parse"));
        assert_eq!(number_value("5mxM"), None);
        assert_eq!(number_value("0x1F"), Some(31.0));
        assert_eq!(number_value("010"), Some(8.0));
        assert_eq!(number_value("1e3"), Some(1000.0));
        assert!(number_value("-Inf").is_some_and(f64::is_infinite));
    }

    #[test]
    fn a_huge_range_with_units_is_an_error_not_a_panic() {
        let message = parse_error("rate(x[99999999999999999999y]) > 0");
        assert!(message.contains("cannot parse"), "{message}");
    }

    #[test]
    fn long_and_deep_conditions_are_refused_before_evaluation() {
        let long = format!("x > {}", "1".repeat(MAX_CONDITION_BYTES));
        assert!(parse_error(&long).contains("at most 2048"));
        let parens = format!("{}x{} > 0", "(".repeat(200), ")".repeat(200));
        assert!(parse_error(&parens).contains("levels of nesting"));
        let minus = format!("{}x > 0", "-".repeat(200));
        assert!(parse_error(&minus).contains("levels of nesting"));
        let chain = format!("x{} > 0", " + x".repeat(200));
        assert!(parse_error(&chain).contains("levels of nesting"));
        let nested = format!("x{}", " + x".repeat(MAX_CONDITION_DEPTH - 4));
        Condition::parse(&format!("{nested} > 0")).expect("within the depth limit");
    }

    #[test]
    fn the_deepest_accepted_condition_evaluates_on_a_small_stack() {
        use crate::config::MetricsConfig;
        use crate::store::SeriesStore;
        let nested = format!(
            "{}vector(1){} > 0",
            "abs(".repeat(MAX_CONDITION_DEPTH - 3),
            ")".repeat(MAX_CONDITION_DEPTH - 3)
        );
        let condition = Condition::parse(&nested).expect("within the limit");
        // The stack of a tokio worker thread (2 MiB), in a debug build.
        let evaluated = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let store = SeriesStore::new(&MetricsConfig::default());
                condition.eval(&store, 1_000).map(|s| s.len())
            })
            .expect("spawn")
            .join()
            .expect("no stack overflow");
        assert_eq!(evaluated, Ok(1));
    }
}
