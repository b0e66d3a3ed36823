//! The Researcher's expression language: small, exact and safe. An LLM asks for a computation as text; the SDK
//! evaluates it with decimals over the statements, so no number in a report comes from a model's arithmetic.
//!
//! Grammar (whitespace is free):
//!
//! ```text
//! expr     := product (("+" | "-") product)*
//! product  := unary (("*" | "/") unary)*
//! unary    := "-" unary | primary
//! primary  := NUMBER | name selector? | "avg" "(" line ")" selector? | "(" expr ")"
//! selector := "[" (period label | "prev") "]"
//! name     := a statement line, a derived line (gross_profit, ebitda, ...), a catalogue metric, or "days"
//! ```
//!
//! `revenue[FY2022]` reads another period; `revenue[prev]` the previous consecutive one. Bounds: at most
//! [`MAX_LENGTH`] characters, [`MAX_TOKENS`] tokens and [`MAX_DEPTH`] nested levels.
//!
//! ```
//! # let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/bistro-saint-denis.json"))?;
//! # let statements = finops_core::Statements::from_json_str(&json)?;
//! use finops_core::metrics::expr::Expression;
//! let c = Expression::parse("revenue / revenue[prev] - 1")?.evaluate(&statements, "FY2023")?;
//! assert_eq!(c.value.round_dp(4).to_string(), "0.0571");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::engine::Ctx;
use super::{DerivedLine, FigureInput, MetricId};
use crate::error::{Error, Result};
use crate::statements::{Line, Statements};

/// The longest expression accepted, in characters.
pub const MAX_LENGTH: usize = 500;
/// The most tokens an expression may have.
pub const MAX_TOKENS: usize = 200;
/// The deepest nesting of parentheses and operators.
pub const MAX_DEPTH: usize = 20;

/// The result of evaluating an expression for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Computation {
    /// The expression as given.
    pub expression: String,
    /// The period it was evaluated for.
    pub period: String,
    /// The exact result.
    pub value: Decimal,
    /// The statement amounts it was computed from.
    pub inputs: Vec<FigureInput>,
}

/// What a name in an expression refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Name {
    Line(Line),
    Derived(DerivedLine),
    Metric(MetricId),
    Days,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    Current,
    Previous,
    Label(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Number(Decimal),
    Ref {
        name: Name,
        period: Selector,
        pos: usize,
    },
    Avg {
        line: Line,
        period: Selector,
        pos: usize,
    },
    Neg(Box<Node>),
    Binary {
        op: char,
        left: Box<Node>,
        right: Box<Node>,
        pos: usize,
    },
}

/// A parsed expression, ready to be evaluated for any period.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    text: String,
    root: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(Decimal),
    Ident(String),
    Op(char),
    Open,
    Close,
    Selector(String),
}

impl Expression {
    /// Parses an expression; anything outside the grammar is refused with the position and the reason.
    pub fn parse(text: &str) -> Result<Self> {
        let chars = text.chars().count();
        if chars > MAX_LENGTH {
            return Err(err(
                text,
                MAX_LENGTH,
                format!("expression is {chars} characters long; the limit is {MAX_LENGTH}"),
            ));
        }
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Err(err(text, 0, "expression is empty".into()));
        }
        let mut parser = Parser {
            text,
            tokens: &tokens,
            at: 0,
            depth: 0,
        };
        let root = parser.expr()?;
        if let Some((pos, tok)) = tokens.get(parser.at) {
            return Err(err(
                text,
                *pos,
                format!("unexpected {} after a complete expression", describe(tok)),
            ));
        }
        Ok(Expression {
            text: text.to_string(),
            root,
        })
    }

    /// The expression's text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates the expression for the period labelled `period`, exactly.
    pub fn evaluate(&self, statements: &Statements, period: &str) -> Result<Computation> {
        let index = statements.period_index(period).ok_or_else(|| {
            err(
                &self.text,
                0,
                format!("no period labelled `{period}` in the statements"),
            )
        })?;
        let mut eval = Eval {
            text: &self.text,
            statements,
            current: index,
            inputs: Vec::new(),
        };
        let value = eval.node(&self.root)?;
        Ok(Computation {
            expression: self.text.clone(),
            period: period.to_string(),
            value: value.normalize(),
            inputs: eval.inputs,
        })
    }
}

/// Parses and evaluates in one step.
pub fn evaluate(statements: &Statements, expression: &str, period: &str) -> Result<Computation> {
    Expression::parse(expression)?.evaluate(statements, period)
}

fn err(expression: &str, position: usize, reason: String) -> Error {
    Error::InvalidExpression {
        expression: expression.to_string(),
        position,
        reason,
    }
}

fn describe(t: &Token) -> String {
    match t {
        Token::Number(n) => format!("number {n}"),
        Token::Ident(s) => format!("name `{s}`"),
        Token::Op(c) => format!("operator `{c}`"),
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
        Token::Selector(s) => format!("period selector `[{s}]`"),
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let token = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '0'..='9' | '.' => {
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let literal: String = chars[start..i].iter().collect();
                let valid = literal.matches('.').count() <= 1
                    && !literal.starts_with('.')
                    && !literal.ends_with('.');
                let number = valid
                    .then(|| Decimal::from_str_exact(&literal).ok())
                    .flatten();
                Token::Number(
                    number
                        .ok_or_else(|| err(text, start, format!("`{literal}` is not a number")))?,
                )
            }
            'a'..='z' | 'A'..='Z' | '_' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                Token::Ident(chars[start..i].iter().collect())
            }
            '+' | '-' | '*' | '/' => {
                i += 1;
                Token::Op(c)
            }
            '(' => {
                i += 1;
                Token::Open
            }
            ')' => {
                i += 1;
                Token::Close
            }
            '[' => {
                let close = chars[i..].iter().position(|c| *c == ']').map(|p| p + i);
                let Some(close) = close else {
                    return Err(err(text, start, "`[` without a closing `]`".into()));
                };
                let label: String = chars[i + 1..close]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_string();
                if label.is_empty() {
                    return Err(err(text, start, "empty period selector".into()));
                }
                i = close + 1;
                Token::Selector(label)
            }
            other => {
                return Err(err(
                    text,
                    start,
                    format!(
                        "character `{other}` is not allowed (only names, numbers, + - * / ( ) and [period])"
                    ),
                ));
            }
        };
        tokens.push((start, token));
        if tokens.len() > MAX_TOKENS {
            return Err(err(
                text,
                start,
                format!("expression has more than {MAX_TOKENS} tokens"),
            ));
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    text: &'a str,
    tokens: &'a [(usize, Token)],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&(usize, Token)> {
        self.tokens.get(self.at)
    }

    fn end_pos(&self) -> usize {
        self.text.chars().count()
    }

    fn descend(&mut self, pos: usize) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(
                self.text,
                pos,
                format!("expression nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Node> {
        let mut left = self.product()?;
        while let Some((pos, Token::Op(op @ ('+' | '-')))) = self.peek().cloned() {
            self.at += 1;
            let right = self.product()?;
            left = Node::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
                pos,
            };
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Node> {
        let mut left = self.unary()?;
        while let Some((pos, Token::Op(op @ ('*' | '/')))) = self.peek().cloned() {
            self.at += 1;
            let right = self.unary()?;
            left = Node::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
                pos,
            };
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node> {
        if let Some((pos, Token::Op('-'))) = self.peek().cloned() {
            self.at += 1;
            self.descend(pos)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Node::Neg(Box::new(inner)));
        }
        self.primary()
    }

    fn selector(&mut self) -> Selector {
        match self.peek() {
            Some((_, Token::Selector(label))) => {
                let s = if label.eq_ignore_ascii_case("prev") {
                    Selector::Previous
                } else {
                    Selector::Label(label.clone())
                };
                self.at += 1;
                s
            }
            _ => Selector::Current,
        }
    }

    fn primary(&mut self) -> Result<Node> {
        let Some((pos, token)) = self.peek().cloned() else {
            return Err(err(
                self.text,
                self.end_pos(),
                "expression ends where a value was expected".into(),
            ));
        };
        self.at += 1;
        match token {
            Token::Number(n) => Ok(Node::Number(n)),
            Token::Open => {
                self.descend(pos)?;
                let inner = self.expr()?;
                self.depth -= 1;
                match self.peek() {
                    Some((_, Token::Close)) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    Some((p, t)) => Err(err(
                        self.text,
                        *p,
                        format!("expected `)` but found {}", describe(t)),
                    )),
                    None => Err(err(self.text, self.end_pos(), "missing `)`".into())),
                }
            }
            Token::Ident(name) if name == "avg" => {
                let line = match (
                    self.tokens.get(self.at),
                    self.tokens.get(self.at + 1),
                    self.tokens.get(self.at + 2),
                ) {
                    (
                        Some((_, Token::Open)),
                        Some((lp, Token::Ident(l))),
                        Some((_, Token::Close)),
                    ) => l.parse::<Line>().map_err(|_| {
                        err(
                            self.text,
                            *lp,
                            format!("avg() takes a statement line; `{l}` is not one"),
                        )
                    })?,
                    _ => {
                        return Err(err(
                            self.text,
                            pos,
                            "avg must be written avg(line), e.g. avg(total_assets)".into(),
                        ));
                    }
                };
                self.at += 3;
                Ok(Node::Avg {
                    line,
                    period: self.selector(),
                    pos,
                })
            }
            Token::Ident(name) => {
                let resolved = resolve(&name).ok_or_else(|| {
                    err(self.text, pos, format!("unknown name `{name}`: expected a statement line, a derived line, a catalogue metric or `days`"))
                })?;
                Ok(Node::Ref {
                    name: resolved,
                    period: self.selector(),
                    pos,
                })
            }
            other => Err(err(
                self.text,
                pos,
                format!("unexpected {} where a value was expected", describe(&other)),
            )),
        }
    }
}

fn resolve(name: &str) -> Option<Name> {
    if name == "days" {
        return Some(Name::Days);
    }
    if let Ok(line) = name.parse::<Line>() {
        return Some(Name::Line(line));
    }
    if let Ok(d) = name.parse::<DerivedLine>() {
        return Some(Name::Derived(d));
    }
    name.parse::<MetricId>().ok().map(Name::Metric)
}

struct Eval<'a> {
    text: &'a str,
    statements: &'a Statements,
    current: usize,
    inputs: Vec<FigureInput>,
}

impl Eval<'_> {
    fn period_index(&self, selector: &Selector, pos: usize) -> Result<usize> {
        match selector {
            Selector::Current => Ok(self.current),
            Selector::Previous => {
                let prev = self
                    .statements
                    .previous_consecutive(self.current)
                    .ok_or_else(|| {
                        err(
                            self.text,
                            pos,
                            format!(
                                "period {} has no previous consecutive period",
                                self.statements.periods()[self.current].label
                            ),
                        )
                    })?;
                self.statements
                    .period_index(&prev.label)
                    .ok_or_else(|| Error::Internal("previous period not found by label".into()))
            }
            Selector::Label(label) => self.statements.period_index(label).ok_or_else(|| {
                err(
                    self.text,
                    pos,
                    format!("no period labelled `{label}` in the statements"),
                )
            }),
        }
    }

    fn absorb(&mut self, ctx: Ctx<'_>) {
        for input in ctx.inputs {
            if !self
                .inputs
                .iter()
                .any(|i| i.line == input.line && i.period == input.period)
            {
                self.inputs.push(input);
            }
        }
    }

    fn node(&mut self, node: &Node) -> Result<Decimal> {
        match node {
            Node::Number(n) => Ok(*n),
            Node::Neg(inner) => Ok(-self.node(inner)?),
            Node::Ref { name, period, pos } => {
                let index = self.period_index(period, *pos)?;
                let label = &self.statements.periods()[index].label;
                let mut ctx = Ctx::new(self.statements, index);
                let value = match name {
                    Name::Days => Ok(Decimal::from(self.statements.periods()[index].days())),
                    Name::Line(line) => match self.statements.periods()[index].amount(*line) {
                        Some(_) => Ok(ctx.line(*line)),
                        None => Err(format!("line {line} is absent for {label}")),
                    },
                    Name::Derived(d) => ctx.derived(*d),
                    Name::Metric(m) => ctx
                        .metric(*m)
                        .map_err(|why| format!("metric {m} is not computable for {label}: {why}")),
                };
                let value = value.map_err(|why| err(self.text, *pos, why))?;
                self.absorb(ctx);
                Ok(value)
            }
            Node::Avg { line, period, pos } => {
                let index = self.period_index(period, *pos)?;
                let mut ctx = Ctx::new(self.statements, index);
                let value = ctx.avg(*line);
                self.absorb(ctx);
                Ok(value)
            }
            Node::Binary {
                op,
                left,
                right,
                pos,
            } => {
                let (a, b) = (self.node(left)?, self.node(right)?);
                let result = match op {
                    '+' => a.checked_add(b),
                    '-' => a.checked_sub(b),
                    '*' => a.checked_mul(b),
                    _ if b.is_zero() => {
                        return Err(err(self.text, *pos, "division by zero".into()));
                    }
                    _ => a.checked_div(b),
                };
                result.ok_or_else(|| {
                    err(
                        self.text,
                        *pos,
                        "the result is out of range (arithmetic overflow)".into(),
                    )
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
