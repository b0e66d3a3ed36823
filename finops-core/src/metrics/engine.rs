//! Computes catalogue metrics exactly, recording every input amount a figure used.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::{Basis, DerivedLine, Figure, FigureInput, MetricId};
use crate::statements::{Line, Period, Statements};

/// Why a metric has no value; the text goes into [`Figure::reason`].
pub(crate) type NotComputable = String;

/// Evaluation state for one period: reads amounts and records them as the figure's inputs.
pub(crate) struct Ctx<'a> {
    statements: &'a Statements,
    period: &'a Period,
    previous: Option<&'a Period>,
    pub(crate) inputs: Vec<FigureInput>,
    pub(crate) basis: Basis,
    /// Whether amounts read are kept as the figure's inputs (off for a value-only computation).
    provenance: bool,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(statements: &'a Statements, index: usize) -> Self {
        Ctx {
            statements,
            period: &statements.periods()[index],
            previous: statements.previous_consecutive(index),
            inputs: Vec::with_capacity(4),
            basis: Basis::Closing,
            provenance: true,
        }
    }

    /// A context that computes the value and basis only: the same arithmetic, without recording inputs.
    fn value_only(statements: &'a Statements, index: usize) -> Self {
        Ctx {
            inputs: Vec::new(),
            provenance: false,
            ..Ctx::new(statements, index)
        }
    }

    fn record(&mut self, line: Line, period: &Period, value: Decimal) {
        if !self.provenance {
            return;
        }
        let exists = self
            .inputs
            .iter()
            .any(|i| i.line == line.id() && i.period == period.label);
        if !exists {
            self.inputs.push(FigureInput {
                line: line.id().into(),
                period: Arc::clone(&period.label),
                value,
                accounts: period.accounts(line).cloned(),
            });
        }
    }

    /// A line of this period; an absent optional line reads as zero and is not recorded.
    pub(crate) fn line(&mut self, line: Line) -> Decimal {
        match self.period.amount(line) {
            Some(v) => {
                let period = self.period;
                self.record(line, period, v);
                v
            }
            None => Decimal::ZERO,
        }
    }

    /// A line that must be present for the metric to mean anything.
    fn required(&mut self, line: Line, reason: &str) -> Result<Decimal, NotComputable> {
        if self.period.amount(line).is_none() {
            return Err(reason.to_string());
        }
        Ok(self.line(line))
    }

    fn cash_flow(&mut self, line: Line) -> Result<Decimal, NotComputable> {
        if !self.period.has_cash_flow() {
            return Err("no cash flow statement for this period".into());
        }
        Ok(self.line(line))
    }

    /// `avg(x)`: mean of the previous consecutive period's closing amount and this one's, else this closing amount.
    pub(crate) fn avg(&mut self, line: Line) -> Decimal {
        let current = self.line(line);
        match self.previous {
            Some(prev) => {
                let before = prev.amount_or_zero(line);
                if prev.amount(line).is_some() {
                    self.record(line, prev, before);
                }
                self.basis = Basis::Average;
                (before + current) / Decimal::TWO
            }
            None => current,
        }
    }

    fn days(&self) -> Decimal {
        Decimal::from(self.period.days())
    }

    pub(crate) fn derived(&mut self, d: DerivedLine) -> Result<Decimal, NotComputable> {
        Ok(match d {
            DerivedLine::GrossProfit => self.line(Line::Revenue) - self.line(Line::CostOfGoodsSold),
            DerivedLine::Ebitda => {
                self.derived(DerivedLine::GrossProfit)? - self.line(Line::OperatingExpenses)
            }
            DerivedLine::OperatingIncome => {
                self.derived(DerivedLine::Ebitda)? - self.line(Line::DepreciationAmortization)
            }
            DerivedLine::IncomeBeforeTax => {
                self.derived(DerivedLine::OperatingIncome)? - self.line(Line::InterestExpense)
                    + self.line(Line::OtherIncome)
            }
            DerivedLine::TotalDebt => {
                self.line(Line::ShortTermDebt) + self.line(Line::LongTermDebt)
            }
            DerivedLine::WorkingCapital => {
                self.line(Line::TotalCurrentAssets) - self.line(Line::TotalCurrentLiabilities)
            }
            DerivedLine::FreeCashFlow => {
                self.cash_flow(Line::OperatingCashFlow)?
                    - self.cash_flow(Line::CapitalExpenditures)?
            }
        })
    }

    pub(crate) fn metric(&mut self, m: MetricId) -> Result<Decimal, NotComputable> {
        use MetricId::*;
        let tcl = |c: &mut Self| {
            nonzero(
                c.line(Line::TotalCurrentLiabilities),
                "total_current_liabilities is zero",
            )
        };
        match m {
            CurrentRatio => {
                let d = tcl(self)?;
                Ok(self.line(Line::TotalCurrentAssets) / d)
            }
            QuickRatio => {
                let d = tcl(self)?;
                Ok((self.line(Line::Cash)
                    + self.line(Line::MarketableSecurities)
                    + self.line(Line::AccountsReceivable))
                    / d)
            }
            CashRatio => {
                let d = tcl(self)?;
                Ok((self.line(Line::Cash) + self.line(Line::MarketableSecurities)) / d)
            }
            WorkingCapital => self.derived(DerivedLine::WorkingCapital),
            OperatingCashFlowRatio => {
                let ocf = self.cash_flow(Line::OperatingCashFlow)?;
                Ok(ocf / tcl(self)?)
            }
            DebtToEquity => {
                let equity = positive(
                    self.line(Line::TotalEquity),
                    "total_equity is zero or negative: the ratio is not meaningful",
                )?;
                Ok(self.derived(DerivedLine::TotalDebt)? / equity)
            }
            DebtToAssets => {
                let assets = nonzero(self.line(Line::TotalAssets), "total_assets is zero")?;
                Ok(self.derived(DerivedLine::TotalDebt)? / assets)
            }
            InterestCoverage => {
                let interest = nonzero(
                    self.line(Line::InterestExpense),
                    "no interest expense: coverage is not defined",
                )?;
                Ok(self.derived(DerivedLine::OperatingIncome)? / interest)
            }
            NetDebtToEbitda => {
                let ebitda = positive(
                    self.derived(DerivedLine::Ebitda)?,
                    "EBITDA is zero or negative: the ratio is not meaningful",
                )?;
                let net_debt = self.derived(DerivedLine::TotalDebt)?
                    - self.line(Line::Cash)
                    - self.line(Line::MarketableSecurities);
                Ok(net_debt / ebitda)
            }
            GrossMargin => self.over_revenue(|c| c.derived(DerivedLine::GrossProfit)),
            OperatingMargin => self.over_revenue(|c| c.derived(DerivedLine::OperatingIncome)),
            EbitdaMargin => self.over_revenue(|c| c.derived(DerivedLine::Ebitda)),
            NetMargin => self.over_revenue(|c| Ok(c.line(Line::NetIncome))),
            EffectiveTaxRate => {
                let ibt = positive(
                    self.derived(DerivedLine::IncomeBeforeTax)?,
                    "income before tax is zero or negative: an effective tax rate is not meaningful",
                )?;
                Ok(self.line(Line::IncomeTaxExpense) / ibt)
            }
            ReturnOnAssets => {
                let assets = nonzero(self.avg(Line::TotalAssets), "average total_assets is zero")?;
                Ok(self.line(Line::NetIncome) / assets)
            }
            ReturnOnEquity => {
                let equity = positive(
                    self.avg(Line::TotalEquity),
                    "average total_equity is zero or negative: the return is not meaningful",
                )?;
                Ok(self.line(Line::NetIncome) / equity)
            }
            AssetTurnover => {
                let assets = nonzero(self.avg(Line::TotalAssets), "average total_assets is zero")?;
                Ok(self.line(Line::Revenue) / assets)
            }
            InventoryTurnover => {
                let inventory = self.avg_inventory()?;
                let cogs = self.line(Line::CostOfGoodsSold);
                nonzero(cogs, "cost_of_goods_sold is zero")?;
                Ok(cogs / inventory)
            }
            DaysInventoryOutstanding => {
                let inventory = self.avg_inventory()?;
                let cogs = nonzero(
                    self.line(Line::CostOfGoodsSold),
                    "cost_of_goods_sold is zero",
                )?;
                Ok(inventory * self.days() / cogs)
            }
            DaysSalesOutstanding => {
                let receivables = self.avg(Line::AccountsReceivable);
                let revenue = nonzero(self.line(Line::Revenue), "revenue is zero")?;
                Ok(receivables * self.days() / revenue)
            }
            DaysPayablesOutstanding => {
                let payables = self.avg(Line::AccountsPayable);
                let cogs = nonzero(
                    self.line(Line::CostOfGoodsSold),
                    "cost_of_goods_sold is zero",
                )?;
                Ok(payables * self.days() / cogs)
            }
            CashConversionCycle => {
                let part = |c: &mut Self, m: MetricId| {
                    c.metric(m)
                        .map_err(|why| format!("{} is not computable ({why})", m.id()))
                };
                let dio = part(self, DaysInventoryOutstanding)?;
                let dso = part(self, DaysSalesOutstanding)?;
                let dpo = part(self, DaysPayablesOutstanding)?;
                Ok(dio + dso - dpo)
            }
            RevenueGrowth => self.growth(Line::Revenue),
            NetIncomeGrowth => self.growth(Line::NetIncome),
            FreeCashFlow => self.derived(DerivedLine::FreeCashFlow),
            FreeCashFlowMargin => self.over_revenue(|c| c.derived(DerivedLine::FreeCashFlow)),
        }
    }

    fn over_revenue(
        &mut self,
        numerator: impl FnOnce(&mut Self) -> Result<Decimal, NotComputable>,
    ) -> Result<Decimal, NotComputable> {
        let revenue = nonzero(self.line(Line::Revenue), "revenue is zero")?;
        Ok(numerator(self)? / revenue)
    }

    fn avg_inventory(&mut self) -> Result<Decimal, NotComputable> {
        self.required(Line::Inventory, "no inventory line in the statements")?;
        nonzero(
            self.avg(Line::Inventory),
            "no inventory (average inventory is zero)",
        )
    }

    fn growth(&mut self, line: Line) -> Result<Decimal, NotComputable> {
        let Some(prev) = self.previous else {
            return Err("no previous consecutive period in the statements".into());
        };
        let base = prev.amount_or_zero(line);
        self.record(line, prev, base);
        let base = positive(
            base,
            &format!(
                "{} of the previous period ({}) is zero or negative",
                line.id(),
                prev.label
            ),
        )?;
        Ok(self.line(line) / base - Decimal::ONE)
    }

    pub(crate) fn statements(&self) -> &'a Statements {
        self.statements
    }
}

fn nonzero(d: Decimal, reason: &str) -> Result<Decimal, NotComputable> {
    if d.is_zero() {
        Err(reason.to_string())
    } else {
        Ok(d)
    }
}

fn positive(d: Decimal, reason: &str) -> Result<Decimal, NotComputable> {
    if d > Decimal::ZERO {
        Ok(d)
    } else {
        Err(reason.to_string())
    }
}

/// One metric's value (normalized) and basis for the period at `index`, or why it is not computable: what
/// [`compute`] gives, without the provenance, for tables of many companies.
pub(crate) fn value(
    statements: &Statements,
    index: usize,
    metric: MetricId,
) -> (Result<Decimal, NotComputable>, Basis) {
    let mut ctx = Ctx::value_only(statements, index);
    let result = ctx.metric(metric).map(|v| v.normalize());
    (result, ctx.basis)
}

/// Computes one metric for the period at `index` (in [`Statements::periods`] order).
pub(crate) fn compute(statements: &Statements, index: usize, metric: MetricId) -> Figure {
    let mut ctx = Ctx::new(statements, index);
    let result = ctx.metric(metric);
    let period = &ctx.statements().periods()[index];
    let (value, reason) = match result {
        Ok(v) => (Some(v.normalize()), None),
        Err(why) => (None, Some(why)),
    };
    Figure {
        id: Figure::make_id(metric, &period.label),
        metric,
        period: Arc::clone(&period.label),
        value,
        unit: metric.unit(),
        basis: ctx.basis,
        formula: metric.formula().into(),
        inputs: ctx.inputs,
        reason,
    }
}
