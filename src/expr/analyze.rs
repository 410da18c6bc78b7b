//! The compile-time walk over minijinja's AST (its `unstable_machinery` parser, the same
//! one `compile_expression` uses). minijinja resolves names only when it runs, so without
//! this walk `lowr(mail)` would compile and then reject every user. The walk:
//!
//! - refuses unknown functions, filters and tests, wrong arities of ours, keyword and splat
//!   arguments to ours, method calls and `a.b` lookups, and names starting with `__`;
//! - requires string constants where the answer must be known at load (`values`, `attr`,
//!   `member_of*` names, `regex_replace` patterns, compiled here) and checks constant
//!   country codes, date formats and lengths;
//! - allows `omit()` only where it can become the whole result;
//! - collects what the expression reads (the plan) and the comparison chains to rewrite.

use minijinja::machinery::ast::{BinOpKind, CallArg, CompareOpKind, Expr, UnaryOpKind};
use minijinja::machinery::parse_expr;
use minijinja::{Error, ErrorKind};
use regex::RegexBuilder;

use super::ENV;
use super::engine::Plan;
use super::functions::{Spec, spec_of};
use super::rewrite::{Chain, extent, is_ordering};
use super::{dates, phone};

/// Compiled regexes are bounded so a pathological pattern fails at load, not per user.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

pub(super) struct Analysis {
    pub plan: Plan,
    pub chains: Vec<Chain>,
    pub uses_groups: bool,
}

pub(super) fn analyze(source: &str) -> Result<Analysis, String> {
    let ast = parse_expr(source).map_err(|e| describe_syntax(&e))?;
    let mut walk =
        Walk { source, analysis: Analysis { plan: Plan::default(), chains: Vec::new(), uses_groups: false } };
    walk.expr(&ast, true)?;
    Ok(walk.analysis)
}

fn describe_syntax(e: &Error) -> String {
    let detail = e.detail().unwrap_or("invalid expression");
    match e.line() {
        Some(line) if line > 1 => format!("syntax error: {detail} (line {line})"),
        _ => format!("syntax error: {detail}"),
    }
}

struct Walk<'s> {
    source: &'s str,
    analysis: Analysis,
}

impl Walk<'_> {
    /// An operand's byte range, with the parentheses written around it: the spans leave
    /// them out, and the rewrite replaces everything between a chain's first and last operand.
    fn range(&self, e: &Expr<'_>) -> (usize, usize) {
        let (mut start, mut end) = extent(e);
        loop {
            let before = self.source.get(..start).unwrap_or_default().trim_end();
            let after = self.source.get(end..).unwrap_or_default().trim_start();
            if !(before.ends_with('(') && after.starts_with(')')) {
                return (start, end);
            }
            start = before.len() - 1;
            end = self.source.len() - after.len() + 1;
        }
    }

    /// `tail`: this node's value can become the whole result (where `omit()` may stand).
    fn expr(&mut self, e: &Expr<'_>, tail: bool) -> Result<(), String> {
        match e {
            Expr::Var(v) => self.var(v.id),
            Expr::Const(_) => Ok(()),
            Expr::Slice(s) => {
                self.expr(&s.expr, false)?;
                [&s.start, &s.stop, &s.step].into_iter().flatten().try_for_each(|x| self.expr(x, false))
            }
            Expr::UnaryOp(u) => self.expr(&u.expr, false),
            Expr::BinOp(b) => {
                self.expr(&b.left, false)?;
                self.expr(&b.right, false)?;
                // A single comparison is parsed as a BinOp, a chain (`a < b < c`) as Compare.
                if let Some(op) = ordering(b.op) {
                    let operands = vec![self.range(&b.left), self.range(&b.right)];
                    self.analysis.chains.push(Chain { operands, ops: vec![op] });
                }
                Ok(())
            }
            Expr::Compare(c) => {
                self.expr(&c.expr, false)?;
                c.ops.iter().try_for_each(|op| self.expr(&op.expr, false))?;
                if c.ops.iter().any(|op| is_ordering(&op.op)) {
                    let operands = std::iter::once(self.range(&c.expr))
                        .chain(c.ops.iter().map(|op| self.range(&op.expr)))
                        .collect();
                    let ops = c.ops.iter().map(|op| op.op).collect();
                    self.analysis.chains.push(Chain { operands, ops });
                }
                Ok(())
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr, false)?;
                self.expr(&i.true_expr, tail)?;
                i.false_expr.as_ref().map_or(Ok(()), |f| self.expr(f, tail))
            }
            Expr::Filter(f) => {
                let mut args: Vec<&Expr<'_>> = f.expr.iter().collect();
                args.extend(positional(f.name, &f.args)?);
                self.filter(f.name, &args, f.args.len() + usize::from(f.expr.is_some()), tail)
            }
            Expr::Test(t) => {
                self.expr(&t.expr, false)?;
                t.args.iter().try_for_each(|a| self.expr(arg_expr(a), false))?;
                match ENV.empty_state().perform_test(t.name, &[]) {
                    Err(e) if e.kind() == ErrorKind::UnknownTest => Err(format!("unknown test {}", t.name)),
                    _ => Ok(()),
                }
            }
            Expr::GetAttr(g) => Err(format!(
                "`.{}` lookups are not supported: directory attributes are read by bare name (mail), \
                 or attr(\"name\") for names that are not identifiers",
                g.name
            )),
            Expr::GetItem(g) => {
                self.expr(&g.expr, false)?;
                self.expr(&g.subscript_expr, false)
            }
            Expr::Call(c) => self.call(&c.expr, &c.args, tail),
            Expr::List(l) => l.items.iter().try_for_each(|x| self.expr(x, false)),
            Expr::Tuple(t) => t.items.iter().try_for_each(|x| self.expr(x, false)),
            Expr::Map(m) => m.keys.iter().chain(m.values.iter()).try_for_each(|x| self.expr(x, false)),
        }
    }

    fn var(&mut self, name: &str) -> Result<(), String> {
        if name.starts_with("__") {
            return Err(format!("names starting with __ are reserved ({name})"));
        }
        if spec_of(name).is_some() {
            return Err(format!(
                "{name} is a function: call it ({name}(…)), or read an attribute of that name with attr(\"{name}\")"
            ));
        }
        let vars = &mut self.analysis.plan.vars;
        if !vars.iter().any(|v| **v == *name) {
            vars.push(name.into());
        }
        Ok(())
    }

    fn call(&mut self, callee: &Expr<'_>, args: &[CallArg<'_>], tail: bool) -> Result<(), String> {
        let name = match callee {
            Expr::Var(v) => v.id,
            Expr::GetAttr(g) => {
                return Err(format!(
                    "method calls (x.{0}(…)) are not supported: write {0}(x, …) or x | {0}(…)",
                    g.name
                ));
            }
            _ => return Err("only named functions can be called".into()),
        };
        let spec = spec_of(name).ok_or_else(|| unknown("function", name))?;
        let args = positional(name, args)?;
        self.ours(spec, &args, args.len(), tail)
    }

    fn filter(&mut self, name: &str, args: &[&Expr<'_>], count: usize, tail: bool) -> Result<(), String> {
        match spec_of(name) {
            Some(spec) if spec.filter => self.ours(spec, args, count, tail),
            Some(_) => Err(format!("{name} is a function, not a filter: write {name}(…)")),
            None => {
                if let Err(e) = ENV.empty_state().apply_filter(name, &[]) {
                    if e.kind() == ErrorKind::UnknownFilter {
                        return Err(unknown("filter", name));
                    }
                }
                args.iter().try_for_each(|a| self.expr(a, false))
            }
        }
    }

    /// One of our functions, called or as a filter (`args[0]` is then the piped value).
    fn ours(&mut self, spec: &Spec, args: &[&Expr<'_>], count: usize, tail: bool) -> Result<(), String> {
        let name = spec.name;
        arity(spec, count)?;
        if name == "omit" && !tail {
            return Err("omit() must be the whole result, a branch of `x if c else y`, a value of switch, \
                        or the last argument of coalesce"
                .into());
        }
        for (i, arg) in args.iter().enumerate() {
            let arg_tail = tail
                && match name {
                    "switch" => i % 2 == 1,
                    "coalesce" => i + 1 == args.len(),
                    _ => false,
                };
            self.expr(arg, arg_tail)?;
        }
        let constant = |i: usize| match args.get(i) {
            Some(Expr::Const(c)) => c.value.as_str().map(str::to_string),
            _ => None,
        };
        for &i in spec.constant {
            if constant(i).is_none() {
                return Err(format!("{name}: argument {} must be a string constant", i + 1));
            }
        }
        self.record(name, constant(0), constant(1), args.get(1))
    }

    /// What a call reads, and the checks of constant arguments.
    fn record(
        &mut self,
        name: &str,
        first: Option<String>,
        second: Option<String>,
        arg2: Option<&&Expr<'_>>,
    ) -> Result<(), String> {
        let plan = &mut self.analysis.plan;
        let push = |list: &mut Vec<Box<str>>, value: Option<String>| {
            if let Some(v) = value.filter(|v| !list.iter().any(|x| **x == *v)) {
                list.push(v.into());
            }
        };
        match name {
            "values" => push(&mut plan.values, first),
            "attr" => push(&mut plan.attr, first),
            "member_of" => push(&mut plan.groups, first),
            "member_of_direct" => push(&mut plan.direct_groups, first),
            "regex_replace" => {
                let pattern = second.unwrap_or_default();
                if !plan.regexes.iter().any(|(p, _)| **p == *pattern) {
                    let regex = RegexBuilder::new(&pattern)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .build()
                        .map_err(|e| format!("regex_replace: invalid pattern {pattern:?}: {e}"))?;
                    plan.regexes.push((pattern.into(), regex));
                }
            }
            "e164" => second.map_or(Ok(()), |c| phone::country(&c).map(drop))?,
            "format_date" => second.map_or(Ok(()), |f| dates::parse_format(&f).map(drop))?,
            "truncate" => {
                let bad = match arg2 {
                    Some(Expr::Const(c)) => c.value.as_i64().is_none_or(|n| n < 0),
                    Some(Expr::UnaryOp(u)) => matches!(u.op, UnaryOpKind::Neg) && matches!(u.expr, Expr::Const(_)),
                    _ => false,
                };
                if bad {
                    return Err("truncate: the length must be a whole number ≥ 0".into());
                }
            }
            _ => {}
        }
        self.analysis.uses_groups |= name.starts_with("member_of");
        Ok(())
    }
}

fn ordering(op: BinOpKind) -> Option<CompareOpKind> {
    Some(match op {
        BinOpKind::Lt => CompareOpKind::Lt,
        BinOpKind::Lte => CompareOpKind::Lte,
        BinOpKind::Gt => CompareOpKind::Gt,
        BinOpKind::Gte => CompareOpKind::Gte,
        _ => return None,
    })
}

fn arity(spec: &Spec, count: usize) -> Result<(), String> {
    let name = spec.name;
    let ok = count >= spec.min && spec.max.is_none_or(|max| count <= max);
    let expected = match spec.max {
        _ if name == "switch" => "a value, a default and key/value pairs".to_string(),
        Some(max) if max == spec.min => format!("{max}"),
        Some(max) => format!("{} to {max}", spec.min),
        None => format!("at least {}", spec.min),
    };
    if !ok || (name == "switch" && count % 2 != 0) {
        return Err(format!("{name} takes {expected} arguments, got {count}"));
    }
    Ok(())
}

/// Positional arguments only: ours take no keywords or splats.
fn positional<'a, 'e>(name: &str, args: &'a [CallArg<'e>]) -> Result<Vec<&'a Expr<'e>>, String> {
    args.iter()
        .map(|a| match a {
            CallArg::Pos(e) => Ok(e),
            _ if spec_of(name).is_none() => Ok(arg_expr(a)),
            _ => Err(format!("{name}: keyword and * arguments are not supported")),
        })
        .collect()
}

fn arg_expr<'a, 'e>(a: &'a CallArg<'e>) -> &'a Expr<'e> {
    match a {
        CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => e,
    }
}

/// "unknown function lowr (did you mean lower?)".
fn unknown(what: &str, name: &str) -> String {
    let near = super::functions::SPECS
        .iter()
        .map(|s| s.name)
        .filter(|n| edit_distance(n, name) <= 2)
        .min_by_key(|n| edit_distance(n, name));
    match near {
        Some(n) => format!("unknown {what} {name} (did you mean {n}?)"),
        None => format!("unknown {what} {name}"),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}
