//! Null-safe ordering comparisons.
//!
//! minijinja orders every pair of values (by kind first), so with a missing attribute
//! `sn < "m"` would be true and `employeeNumber > 1000` would compare a string with a number
//! by kind. The compiler rewrites each chain holding `<`, `<=`, `>` or `>=` in the source it
//! hands minijinja (the source the admin wrote is kept for messages): every ordering pair
//! becomes a call of [`compare`], which is false when either side is missing and compares a
//! number with numeric text as numbers; other pairs of the chain stay as they were, joined
//! by `and` as Jinja's chained comparison means.

use std::cmp::Ordering;

use minijinja::machinery::ast::{BinOpKind, CallArg, CompareOpKind, Expr};
use minijinja::machinery::parse_expr;
use minijinja::value::ValueKind;
use minijinja::{Error, Value};

use super::values::{CMP, fail};

/// One comparison chain to rewrite: the byte ranges of its operands and its operators.
pub(super) struct Chain {
    pub operands: Vec<(usize, usize)>,
    pub ops: Vec<CompareOpKind>,
}

impl Chain {
    fn start(&self) -> usize {
        self.operands.first().map_or(0, |r| r.0)
    }
    fn end(&self) -> usize {
        self.operands.last().map_or(0, |r| r.1)
    }
}

pub(super) fn is_ordering(op: &CompareOpKind) -> bool {
    matches!(op, CompareOpKind::Lt | CompareOpKind::Lte | CompareOpKind::Gt | CompareOpKind::Gte)
}

/// The source with every chain rewritten (chains may nest inside operands).
pub(super) fn rewrite(source: &str, chains: &[Chain]) -> Result<String, String> {
    let chains: Vec<&Chain> = chains.iter().collect();
    let mut out = String::with_capacity(source.len() + 16 * chains.len());
    render(source, (0, source.len()), &chains, &mut out)?;
    Ok(out)
}

/// Copies `range` of the source, rendering the outermost chains inside it. A chain is wider
/// than each of its operands, so rendering an operand never meets its own chain again.
fn render(source: &str, range: (usize, usize), chains: &[&Chain], out: &mut String) -> Result<(), String> {
    let slice = |a: usize, b: usize| source.get(a..b).ok_or("internal: a comparison's span is not in the source");
    let mut at = range.0;
    let mut inside: Vec<&Chain> =
        chains.iter().copied().filter(|c| c.start() >= range.0 && c.end() <= range.1).collect();
    inside.sort_by_key(|c| (c.start(), std::cmp::Reverse(c.end())));
    for chain in inside {
        if chain.start() < at {
            continue; // nested in a chain already rendered
        }
        out.push_str(slice(at, chain.start())?);
        render_chain(source, chain, chains, out)?;
        at = chain.end();
    }
    out.push_str(slice(at, range.1)?);
    Ok(())
}

/// `(__cmp((a), "<", (b)) and ((b) == (c)))` for `a < b == c`.
fn render_chain(source: &str, chain: &Chain, chains: &[&Chain], out: &mut String) -> Result<(), String> {
    let operand = |i: usize, out: &mut String| -> Result<(), String> {
        let range = *chain.operands.get(i).ok_or("internal: a comparison lacks an operand")?;
        out.push('(');
        render(source, range, chains, out)?;
        out.push(')');
        Ok(())
    };
    out.push('(');
    for (i, op) in chain.ops.iter().enumerate() {
        if i > 0 {
            out.push_str(" and ");
        }
        if is_ordering(op) {
            out.push_str(CMP);
            out.push('(');
            operand(i, out)?;
            out.push_str(&format!(", {:?}, ", op_name(op)));
            operand(i + 1, out)?;
        } else {
            out.push('(');
            operand(i, out)?;
            out.push_str(op_name(op));
            operand(i + 1, out)?;
        }
        out.push(')');
    }
    out.push(')');
    Ok(())
}

fn op_name(op: &CompareOpKind) -> &'static str {
    match op {
        CompareOpKind::Eq => " == ",
        CompareOpKind::Ne => " != ",
        CompareOpKind::Lt => "<",
        CompareOpKind::Lte => "<=",
        CompareOpKind::Gt => ">",
        CompareOpKind::Gte => ">=",
        CompareOpKind::In => " in ",
        CompareOpKind::NotIn => " not in ",
    }
}

/// The byte range a node covers in the source: its own span joined with its children's
/// (a filter's span starts at its name, not at the value piped into it).
pub(super) fn extent(e: &Expr<'_>) -> (usize, usize) {
    let own = (e.span().start_offset as usize, e.span().end_offset as usize);
    children(e).into_iter().map(extent).fold(own, |(a, b), (c, d)| (a.min(c), b.max(d)))
}

/// The direct sub-expressions of a node.
pub(super) fn children<'n, 'a>(e: &'n Expr<'a>) -> Vec<&'n Expr<'a>> {
    let args = |args: &'n [CallArg<'a>]| -> Vec<&'n Expr<'a>> {
        args.iter()
            .map(|a| match a {
                CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => e,
            })
            .collect()
    };
    match e {
        Expr::Var(_) | Expr::Const(_) => Vec::new(),
        Expr::Slice(s) => std::iter::once(&s.expr).chain([&s.start, &s.stop, &s.step].into_iter().flatten()).collect(),
        Expr::UnaryOp(u) => vec![&u.expr],
        Expr::BinOp(b) => vec![&b.left, &b.right],
        Expr::Compare(c) => std::iter::once(&c.expr).chain(c.ops.iter().map(|op| &op.expr)).collect(),
        Expr::IfExpr(i) => [&i.test_expr, &i.true_expr].into_iter().chain(i.false_expr.as_ref()).collect(),
        Expr::Filter(f) => f.expr.iter().chain(args(&f.args)).collect(),
        Expr::Test(t) => std::iter::once(&t.expr).chain(args(&t.args)).collect(),
        Expr::GetAttr(g) => vec![&g.expr],
        Expr::GetItem(g) => vec![&g.expr, &g.subscript_expr],
        Expr::Call(c) => std::iter::once(&c.expr).chain(args(&c.args)).collect(),
        Expr::List(l) => l.items.iter().collect(),
        Expr::Tuple(t) => t.items.iter().collect(),
        Expr::Map(m) => m.keys.iter().chain(m.values.iter()).collect(),
    }
}

/// Checks a rewrite: the new source parses, holds no ordering operator, and calls
/// [`compare`] once per ordering pair of the original (a span minijinja reported
/// differently than expected fails here, at load, rather than evaluating wrongly).
pub(super) fn verify(rewritten: &str, pairs: usize) -> Result<(), String> {
    fn count(e: &Expr<'_>, ordering: &mut usize, calls: &mut usize) {
        match e {
            Expr::BinOp(b) if matches!(b.op, BinOpKind::Lt | BinOpKind::Lte | BinOpKind::Gt | BinOpKind::Gte) => {
                *ordering += 1
            }
            Expr::Compare(c) => *ordering += c.ops.iter().filter(|op| is_ordering(&op.op)).count(),
            Expr::Call(c) if matches!(&c.expr, Expr::Var(v) if v.id == CMP) => *calls += 1,
            _ => {}
        }
        children(e).into_iter().for_each(|c| count(c, ordering, calls));
    }
    let ast = parse_expr(rewritten).map_err(|e| format!("internal: rewritten comparison does not parse: {e}"))?;
    let (mut ordering, mut calls) = (0, 0);
    count(&ast, &mut ordering, &mut calls);
    if ordering != 0 || calls != pairs {
        return Err(format!("internal: could not rewrite the comparisons null-safely ({rewritten})"));
    }
    Ok(())
}

/// `__cmp(a, "<", b)`: false when either side is missing (none, undefined) or when a number
/// meets text that is not a number; numbers and numeric text compare as numbers; otherwise
/// minijinja's order (text by code point).
pub(super) fn compare(a: Value, op: &str, b: Value) -> Result<bool, Error> {
    let missing = |v: &Value| v.is_undefined() || v.is_none();
    if missing(&a) || missing(&b) {
        return Ok(false);
    }
    let ordering = match (number(&a), number(&b)) {
        (Some(x), Some(y)) if a.kind() == ValueKind::Number || b.kind() == ValueKind::Number => x.partial_cmp(&y),
        _ if a.kind() == ValueKind::Number || b.kind() == ValueKind::Number => None,
        _ => Some(a.cmp(&b)),
    };
    let Some(ordering) = ordering else { return Ok(false) };
    Ok(match op {
        "<" => ordering == Ordering::Less,
        "<=" => ordering != Ordering::Greater,
        ">" => ordering == Ordering::Greater,
        ">=" => ordering != Ordering::Less,
        _ => return Err(fail(format!("internal: unknown comparison {op:?}"))),
    })
}

fn number(v: &Value) -> Option<f64> {
    match v.kind() {
        ValueKind::Number => f64::try_from(v.clone()).ok(),
        ValueKind::String => v.as_str().and_then(|s| s.trim().parse::<f64>().ok()),
        _ => None,
    }
}
