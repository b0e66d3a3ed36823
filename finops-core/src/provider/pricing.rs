//! What model calls cost: a price table in USD per million tokens, with the date each price took effect. A model
//! with no known price is never silently charged $0 — the host chooses to refuse it or to flag it as unpriced.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::TokenUsage;
use crate::error::{Error, Result};

/// One model's prices from a date on, in USD per million tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// The first day this price applies.
    pub effective: NaiveDate,
    /// USD per million input tokens.
    pub input_per_mtok: Decimal,
    /// USD per million output tokens.
    pub output_per_mtok: Decimal,
    /// Prompt-cache reads; the input price when `None`.
    #[serde(default)]
    pub cached_input_per_mtok: Option<Decimal>,
    /// Prompt-cache writes (Anthropic: 1.25× the input price for a 5-minute entry); the input price when `None`.
    #[serde(default)]
    pub cache_write_per_mtok: Option<Decimal>,
    /// Prompt-cache writes kept an hour (Anthropic: 2× the input price); the five-minute write price when `None`.
    #[serde(default)]
    pub cache_write_1h_per_mtok: Option<Decimal>,
    /// Reasoning tokens; the output price when `None`.
    #[serde(default)]
    pub reasoning_per_mtok: Option<Decimal>,
}

impl ModelPrice {
    /// The cost of a call. `input_tokens` includes the prompt-cache reads and writes, and `output_tokens` the
    /// reasoning tokens (the providers' convention, which finops's HTTP providers normalise to): reads are billed at
    /// the cache-read price, writes at the cache-write price, the rest at the input price.
    pub fn cost(&self, usage: &TokenUsage) -> Decimal {
        let m = Decimal::from(1_000_000u32);
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let written = usage.cache_write_tokens.min(usage.input_tokens - cached);
        let written_1h = usage.cache_write_1h_tokens.min(written);
        let reasoning = usage.reasoning_tokens.min(usage.output_tokens);
        let write = self.cache_write_per_mtok.unwrap_or(self.input_per_mtok);
        let input = Decimal::from(usage.input_tokens - cached - written) * self.input_per_mtok
            + Decimal::from(cached) * self.cached_input_per_mtok.unwrap_or(self.input_per_mtok)
            + Decimal::from(written - written_1h) * write
            + Decimal::from(written_1h) * self.cache_write_1h_per_mtok.unwrap_or(write);
        let output = Decimal::from(usage.output_tokens - reasoning) * self.output_per_mtok
            + Decimal::from(reasoning) * self.reasoning_per_mtok.unwrap_or(self.output_per_mtok);
        (input + output) / m
    }

    fn check(&self, model: &str) -> Result<()> {
        let prices = [
            Some(self.input_per_mtok),
            Some(self.output_per_mtok),
            self.cached_input_per_mtok,
            self.cache_write_per_mtok,
            self.cache_write_1h_per_mtok,
            self.reasoning_per_mtok,
        ];
        // Token counts are u64; capping prices keeps `cost` far from Decimal's overflow.
        let limit = Decimal::from(1_000_000u32);
        if prices
            .iter()
            .flatten()
            .any(|p| p.is_sign_negative() || *p > limit)
        {
            return Err(Error::invalid_argument(
                format!("prices.{model}"),
                "prices must be between 0 and 1,000,000 USD per million tokens",
            ));
        }
        Ok(())
    }
}

/// What to do with a model that has no price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnpricedPolicy {
    /// Call it, and report its cost as unknown (`cost_usd: null`, `unpriced: true`).
    #[default]
    Flag,
    /// Do not call it: the phase falls back to the offline analyst.
    Refuse,
}

/// Prices per model id (as the provider names the model), each with its history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceTable {
    models: HashMap<String, Vec<ModelPrice>>,
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap_or(Decimal::ZERO)
}

fn date(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
}

impl PriceTable {
    /// A table with no prices.
    pub fn empty() -> Self {
        PriceTable::default()
    }

    /// Prices of the default models, from the vendors' published list prices on the date shown. OpenRouter
    /// reports each call's actual cost, which is preferred over this table; a host with negotiated prices sets
    /// its own.
    pub fn defaults() -> Self {
        let sonnet = ModelPrice {
            effective: date(2025, 9, 29),
            input_per_mtok: d("3"),
            output_per_mtok: d("15"),
            cached_input_per_mtok: Some(d("0.30")),
            // A 5-minute cache entry, and an hour's (anthropic.com/pricing, prompt caching).
            cache_write_per_mtok: Some(d("3.75")),
            cache_write_1h_per_mtok: Some(d("6")),
            reasoning_per_mtok: None,
        };
        let deepseek = ModelPrice {
            effective: date(2025, 9, 29),
            input_per_mtok: d("0.28"),
            output_per_mtok: d("0.42"),
            cached_input_per_mtok: Some(d("0.028")),
            // DeepSeek caches on its own and bills no write.
            cache_write_per_mtok: None,
            cache_write_1h_per_mtok: None,
            reasoning_per_mtok: None,
        };
        let haiku = ModelPrice {
            effective: date(2025, 10, 15),
            input_per_mtok: d("1"),
            output_per_mtok: d("5"),
            cached_input_per_mtok: Some(d("0.10")),
            cache_write_per_mtok: Some(d("1.25")),
            cache_write_1h_per_mtok: Some(d("2")),
            reasoning_per_mtok: None,
        };
        let mut t = PriceTable::empty();
        for model in ["anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"] {
            t.models.insert(model.into(), vec![sonnet.clone()]);
        }
        // Not a default model: priced for hosts that route a phase to it.
        for model in ["anthropic/claude-haiku-4.5", "claude-haiku-4-5"] {
            t.models.insert(model.into(), vec![haiku.clone()]);
        }
        for model in ["deepseek/deepseek-chat", "deepseek-chat"] {
            t.models.insert(model.into(), vec![deepseek.clone()]);
        }
        t
    }

    /// Adds (or replaces, for the same effective date) a model's price.
    pub fn set(&mut self, model: impl Into<String>, price: ModelPrice) -> Result<()> {
        let model = model.into();
        if model.trim().is_empty() {
            return Err(Error::invalid_argument(
                "prices",
                "a model id must not be empty",
            ));
        }
        price.check(&model)?;
        let history = self.models.entry(model).or_default();
        history.retain(|p| p.effective != price.effective);
        history.push(price);
        history.sort_by_key(|p| p.effective);
        Ok(())
    }

    /// The price in effect for a model on a day.
    pub fn price(&self, model: &str, on: NaiveDate) -> Option<&ModelPrice> {
        self.models
            .get(model)?
            .iter()
            .rev()
            .find(|p| p.effective <= on)
    }

    /// Whether a model has a price on a day.
    pub fn knows(&self, model: &str, on: NaiveDate) -> bool {
        self.price(model, on).is_some()
    }

    /// A call's cost: what the provider reported if it did, else the table's price, else `None` (unpriced).
    pub fn cost(&self, model: &str, usage: &TokenUsage, on: NaiveDate) -> Option<Decimal> {
        match usage.cost_usd {
            // A negative or absurd reported cost is not believed: unknown (the analysis then counts at its
            // full reservation), never a credit against the budget.
            Some(reported) if !plausible_cost(reported) => {
                tracing::warn!(model, %reported, "a provider reported an implausible cost; counted as unknown");
                None
            }
            Some(reported) => Some(reported),
            None => self.price(model, on).map(|p| p.cost(usage)),
        }
    }
}

/// The most a provider may report for one call; more (or less than zero) is not believed: the call's cost is
/// counted as unknown (and so at the analysis's full budget reservation).
pub const MAX_REPORTED_CALL_COST_USD: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);

/// Whether a cost a provider reported is believable: not negative, not absurd.
pub fn plausible_cost(usd: Decimal) -> bool {
    !usd.is_sign_negative() && usd <= MAX_REPORTED_CALL_COST_USD
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, cached: u64, output: u64) -> TokenUsage {
        TokenUsage {
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: cached,
            ..TokenUsage::default()
        }
    }

    #[test]
    fn default_prices_cost_calls_exactly() {
        let t = PriceTable::defaults();
        let today = date(2026, 11, 24);
        // 2,000 input tokens (500 cached) and 800 output on Sonnet 4.5: 1500*3 + 500*0.3 + 800*15, per million.
        let c = t
            .cost("anthropic/claude-sonnet-4.5", &usage(2000, 500, 800), today)
            .unwrap();
        assert_eq!(c, d("0.01665"));
        let c = t
            .cost(
                "deepseek/deepseek-chat",
                &usage(1_000_000, 0, 1_000_000),
                today,
            )
            .unwrap();
        assert_eq!(c, d("0.70"));
    }

    #[test]
    fn cache_reads_and_writes_are_billed_at_their_own_prices() {
        let t = PriceTable::defaults();
        let today = date(2026, 11, 24);
        // An Anthropic call writing its 1,200-token prefix: 50 * 3 + 1200 * 3.75 + 300 * 15, per million.
        let write = TokenUsage {
            input_tokens: 1250,
            cache_write_tokens: 1200,
            output_tokens: 300,
            ..TokenUsage::default()
        };
        assert_eq!(
            t.cost("claude-sonnet-4-5", &write, today),
            Some(d("0.00915"))
        );
        // The next call reads it: 50 * 3 + 1200 * 0.30 + 300 * 15.
        let read = TokenUsage {
            input_tokens: 1250,
            cached_input_tokens: 1200,
            output_tokens: 300,
            ..TokenUsage::default()
        };
        assert_eq!(
            t.cost("claude-sonnet-4-5", &read, today),
            Some(d("0.00501"))
        );
        // The same write kept an hour: 50 * 3 + 1200 * 6 + 300 * 15; a split write bills each part at its price
        // (200 * 3.75 + 1000 * 6), and hour-long writes beyond the writes reported are not believed.
        let write_1h = TokenUsage {
            cache_write_1h_tokens: 1200,
            ..write.clone()
        };
        assert_eq!(
            t.cost("claude-sonnet-4-5", &write_1h, today),
            Some(d("0.01185"))
        );
        let split = TokenUsage {
            cache_write_1h_tokens: 1000,
            ..write.clone()
        };
        assert_eq!(
            t.cost("claude-sonnet-4-5", &split, today),
            Some(d("0.0114"))
        );
        let inflated = TokenUsage {
            cache_write_1h_tokens: 9999,
            ..write.clone()
        };
        assert_eq!(
            t.cost("claude-sonnet-4-5", &inflated, today),
            Some(d("0.01185"))
        );
        // DeepSeek bills a write as plain input: 360 * 0.28 + 640 * 0.028 + 50 * 0.42.
        let hit = TokenUsage {
            input_tokens: 1000,
            cached_input_tokens: 640,
            output_tokens: 50,
            ..TokenUsage::default()
        };
        assert_eq!(t.cost("deepseek-chat", &hit, today), Some(d("0.00013972")));
        // Counts a provider got wrong (more cached than sent) never make a negative or doubled charge.
        let odd = TokenUsage {
            input_tokens: 100,
            cached_input_tokens: 80,
            cache_write_tokens: 80,
            ..TokenUsage::default()
        };
        assert_eq!(
            t.cost("claude-sonnet-4-5", &odd, today),
            Some(d("0.000099"))
        );
    }

    #[test]
    fn provider_reported_cost_wins_and_unknown_models_are_unpriced_not_free() {
        let t = PriceTable::defaults();
        let today = date(2026, 11, 24);
        let mut u = usage(100, 0, 100);
        u.cost_usd = Some(d("0.0042"));
        assert_eq!(
            t.cost("anthropic/claude-sonnet-4.5", &u, today),
            Some(d("0.0042"))
        );
        assert_eq!(t.cost("mystery/model", &usage(100, 0, 100), today), None);
        // Before a price took effect, there is no price either.
        assert_eq!(
            t.cost("deepseek-chat", &usage(1, 0, 1), date(2024, 1, 1)),
            None
        );
    }

    #[test]
    fn price_history_picks_the_price_in_effect() {
        let mut t = PriceTable::empty();
        let p = |day: u32, input: &str| ModelPrice {
            effective: date(2026, 1, day),
            input_per_mtok: d(input),
            output_per_mtok: d("1"),
            cached_input_per_mtok: None,
            cache_write_per_mtok: None,
            cache_write_1h_per_mtok: None,
            reasoning_per_mtok: None,
        };
        t.set("m", p(20, "2")).unwrap();
        t.set("m", p(1, "1")).unwrap();
        assert_eq!(
            t.price("m", date(2026, 1, 10)).unwrap().input_per_mtok,
            d("1")
        );
        assert_eq!(
            t.price("m", date(2026, 1, 20)).unwrap().input_per_mtok,
            d("2")
        );
        let mut bad = p(1, "-1");
        assert_eq!(
            t.set("m", bad.clone()).unwrap_err().field(),
            Some("prices.m")
        );
        bad.input_per_mtok = d("1");
        assert!(t.set(" ", bad).is_err());
    }

    #[test]
    fn reasoning_tokens_use_their_own_price_when_given() {
        let p = ModelPrice {
            effective: date(2026, 1, 1),
            input_per_mtok: d("1"),
            output_per_mtok: d("10"),
            cached_input_per_mtok: None,
            cache_write_per_mtok: None,
            cache_write_1h_per_mtok: None,
            reasoning_per_mtok: Some(d("20")),
        };
        let mut u = usage(0, 0, 1_000_000);
        u.reasoning_tokens = 250_000;
        assert_eq!(p.cost(&u), d("12.5"));
    }

    #[test]
    fn reported_costs_must_be_believable() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert!(plausible_cost(d("0.0123")));
        assert!(plausible_cost(Decimal::ZERO));
        assert!(!plausible_cost(d("-0.01")));
        assert!(!plausible_cost(d("1000.01")));
        assert!(!plausible_cost(Decimal::MAX));
        let table = PriceTable::default();
        let usage = |cost: &str| TokenUsage {
            cost_usd: Some(d(cost)),
            ..TokenUsage::default()
        };
        let today = chrono::Utc::now().date_naive();
        assert_eq!(table.cost("any", &usage("0.5"), today), Some(d("0.5")));
        assert_eq!(
            table.cost("any", &usage("-3"), today),
            None,
            "a credit is not believed"
        );
        assert_eq!(table.cost("any", &usage("1e6"), today), None);
    }
}
