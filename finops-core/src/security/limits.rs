//! Rate limits and budgets (README "Use a model"): per-tenant and per-principal request rates (governor), and a
//! monthly USD budget per tenant. An analysis reserves its estimated cost before the first provider call and
//! settles the real cost at the end, so concurrent analyses cannot overshoot; reaching the budget exactly blocks.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use chrono::Datelike;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rust_decimal::Decimal;

use crate::error::{Error, RateLimitScope, Result};

/// Requests per minute, per tenant and per principal (tenant + role + client).
#[derive(Debug)]
pub struct RateLimits {
    tenant: DefaultKeyedRateLimiter<String>,
    principal: DefaultKeyedRateLimiter<String>,
    /// Checks since the last sweep of idle keys.
    checks: std::sync::atomic::AtomicU32,
}

/// Every this many checks, the keys whose limit is back to full are forgotten: the state stays proportional to
/// the principals active in the last minute, not to every principal ever seen.
const SWEEP_EVERY: u32 = 1024;

impl RateLimits {
    /// `per_tenant` and `per_principal` requests per minute (bursts up to the same number).
    pub fn per_minute(per_tenant: u32, per_principal: u32) -> Result<Self> {
        let quota = |n: u32, field: &str| {
            NonZeroU32::new(n)
                .map(Quota::per_minute)
                .ok_or_else(|| Error::invalid_argument(field, "must be at least 1 per minute"))
        };
        Ok(RateLimits {
            tenant: RateLimiter::keyed(quota(per_tenant, "per_tenant")?),
            principal: RateLimiter::keyed(quota(per_principal, "per_principal")?),
            checks: std::sync::atomic::AtomicU32::new(0),
        })
    }

    /// How many tenants and principals the limiter holds state for.
    pub fn tracked_keys(&self) -> usize {
        self.tenant.len() + self.principal.len()
    }

    /// Counts one request; refused with the wait when a limit is reached.
    pub fn check(&self, tenant: &str, principal_key: &str) -> Result<()> {
        let n = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n.wrapping_add(1).is_multiple_of(SWEEP_EVERY) {
            self.tenant.retain_recent();
            self.principal.retain_recent();
            self.tenant.shrink_to_fit();
            self.principal.shrink_to_fit();
        }
        let clock = DefaultClock::default();
        let limited = |scope: RateLimitScope, wait: std::time::Duration| Error::RateLimited {
            scope,
            retry_after: wait,
        };
        self.principal
            .check_key(&format!("{tenant}/{principal_key}"))
            .map_err(|n| limited(RateLimitScope::Principal, n.wait_time_from(clock.now())))?;
        self.tenant
            .check_key(&tenant.to_string())
            .map_err(|n| limited(RateLimitScope::Tenant, n.wait_time_from(clock.now())))?;
        Ok(())
    }
}

/// Where a tenant's monthly spend and the reservations of running analyses are kept. In memory by default (one
/// process); in the vault's store (the store module's `StoreLedger`) so that several processes and a restart
/// share one ledger: N workers cannot spend N times a budget.
#[async_trait::async_trait]
pub trait BudgetLedger: Send + Sync + std::fmt::Debug {
    /// Reserves `amount` for `tenant` in `month` unless spent + reserved + `amount` would pass `limit` (or the
    /// budget is reached already). A reservation not settled within `ttl` (its process died) counts as spent in
    /// full. `Ok(Ok(id))`, or `Ok(Err(committed))` with what is spent and reserved when refused.
    async fn reserve(
        &self,
        tenant: &str,
        month: &str,
        amount: Decimal,
        limit: Decimal,
        ttl: std::time::Duration,
    ) -> Result<std::result::Result<String, Decimal>>;
    /// Records a reservation's real cost (`estimate` when it expired and was counted in full meanwhile).
    async fn settle(
        &self,
        tenant: &str,
        month: &str,
        id: &str,
        estimate: Decimal,
        actual: Decimal,
    ) -> Result<()>;
    /// What `tenant` spent in `month` (settled, and expired reservations).
    async fn spent(&self, tenant: &str, month: &str) -> Result<Decimal>;
}

/// One tenant's month in memory: what was spent, and the live reservations by id.
type MonthLedger = (Decimal, HashMap<String, Decimal>);

/// Whether a reservation of `amount` is refused when `committed` (spent and reserved) is already held against
/// `limit`: it would pass the limit, or the budget is reached already (then even a free estimate is refused).
pub fn refuses(committed: Decimal, amount: Decimal, limit: Decimal) -> bool {
    committed >= limit || committed.saturating_add(amount) > limit
}

/// The ledger of one process.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    /// (tenant, "YYYY-MM") → the month.
    months: Mutex<HashMap<(String, String), MonthLedger>>,
}

#[async_trait::async_trait]
impl BudgetLedger for MemoryLedger {
    async fn reserve(
        &self,
        tenant: &str,
        month: &str,
        amount: Decimal,
        limit: Decimal,
        _ttl: std::time::Duration,
    ) -> Result<std::result::Result<String, Decimal>> {
        let mut months = self.months.lock().unwrap_or_else(|p| p.into_inner());
        let (spent, held) = months
            .entry((tenant.to_string(), month.to_string()))
            .or_default();
        let committed = held.values().fold(*spent, |sum, a| sum.saturating_add(*a));
        if refuses(committed, amount, limit) {
            return Ok(Err(committed));
        }
        let id = uuid::Uuid::new_v4().to_string();
        held.insert(id.clone(), amount);
        Ok(Ok(id))
    }

    async fn settle(
        &self,
        tenant: &str,
        month: &str,
        id: &str,
        _estimate: Decimal,
        actual: Decimal,
    ) -> Result<()> {
        let mut months = self.months.lock().unwrap_or_else(|p| p.into_inner());
        let (spent, held) = months
            .entry((tenant.to_string(), month.to_string()))
            .or_default();
        held.remove(id);
        *spent = spent.saturating_add(actual);
        Ok(())
    }

    async fn spent(&self, tenant: &str, month: &str) -> Result<Decimal> {
        let months = self.months.lock().unwrap_or_else(|p| p.into_inner());
        Ok(months
            .get(&(tenant.to_string(), month.to_string()))
            .map_or(Decimal::ZERO, |(s, _)| *s))
    }
}

/// How long a reservation lives unsettled before it counts as spent (its process died mid-analysis).
pub const RESERVATION_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Monthly budgets in USD per tenant.
#[derive(Debug, Clone)]
pub struct Budgets {
    limits: Arc<HashMap<String, Decimal>>,
    ledger: Arc<dyn BudgetLedger>,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            limits: Arc::default(),
            ledger: Arc::new(MemoryLedger::default()),
        }
    }
}

fn month() -> String {
    let now = chrono::Utc::now();
    format!("{:04}-{:02}", now.year(), now.month())
}

impl Budgets {
    /// Budgets per tenant (USD per calendar month, UTC). Tenants without one are not limited.
    pub fn new(limits: HashMap<String, Decimal>) -> Result<Self> {
        if let Some((t, _)) = limits.iter().find(|(_, l)| l.is_sign_negative()) {
            return Err(Error::invalid_argument(
                format!("budgets.{t}"),
                "must not be negative",
            ));
        }
        Ok(Budgets {
            limits: Arc::new(limits),
            ledger: Arc::new(MemoryLedger::default()),
        })
    }

    /// The same budgets kept in `ledger` (the vault's store, shared by every process of a deployment).
    pub fn with_ledger(mut self, ledger: Arc<dyn BudgetLedger>) -> Self {
        self.ledger = ledger;
        self
    }

    /// Budgets from decimal texts (as bindings receive them); a value that is not a number names its tenant.
    pub fn from_texts(limits: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        let mut parsed = HashMap::new();
        for (tenant, text) in limits {
            let usd = text.trim().parse::<Decimal>().map_err(|_| {
                Error::invalid_argument(
                    format!("budgets.{tenant}"),
                    format!("`{text}` is not a number of USD"),
                )
            })?;
            parsed.insert(tenant, usd);
        }
        Self::new(parsed)
    }

    /// Reserves `estimate` for an analysis of `tenant`, or refuses when spent + reserved + estimate would pass the
    /// limit (a budget already reached refuses everything, even a free estimate).
    pub async fn reserve(&self, tenant: &str, estimate: Decimal) -> Result<Reservation> {
        let month = month();
        let id = match self.limits.get(tenant) {
            Some(limit) => {
                match self
                    .ledger
                    .reserve(tenant, &month, estimate, *limit, RESERVATION_TTL)
                    .await?
                {
                    Ok(id) => Some(id),
                    Err(committed) => {
                        return Err(Error::BudgetExceeded {
                            tenant: tenant.to_string(),
                            limit_usd: *limit,
                            spent_usd: committed,
                        });
                    }
                }
            }
            None => None,
        };
        Ok(Reservation {
            ledger: Arc::clone(&self.ledger),
            tenant: tenant.to_string(),
            month,
            id,
            estimate,
            settled: false,
        })
    }

    /// Spent (settled) this month by a tenant.
    pub async fn spent(&self, tenant: &str) -> Result<Decimal> {
        self.ledger.spent(tenant, &month()).await
    }
}

/// Money set aside for one analysis. `settle` records the real cost; dropped unsettled (a cancelled or failed
/// analysis), the whole estimate counts as spent, since calls may have been billed.
#[derive(Debug)]
pub struct Reservation {
    ledger: Arc<dyn BudgetLedger>,
    tenant: String,
    month: String,
    /// The ledger's id; `None` for a tenant without a budget.
    id: Option<String>,
    estimate: Decimal,
    settled: bool,
}

impl Reservation {
    /// What was reserved.
    pub fn estimate(&self) -> Decimal {
        self.estimate
    }

    /// Records the real cost. A ledger that cannot be written leaves the reservation to expire, when it counts
    /// in full: the error is logged, the analysis is not lost for it.
    pub async fn settle(mut self, actual: Decimal) {
        self.settled = true;
        if let Some(id) = self.id.take()
            && let Err(e) = self
                .ledger
                .settle(&self.tenant, &self.month, &id, self.estimate, actual)
                .await
        {
            tracing::warn!(tenant = %self.tenant, error = %e, "a budget reservation was not settled");
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let Some(id) = self.id.take() else {
            return;
        };
        // Counted in full; on a runtime, now, else when it expires.
        let (ledger, tenant, month, estimate) = (
            Arc::clone(&self.ledger),
            self.tenant.clone(),
            self.month.clone(),
            self.estimate,
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = ledger
                    .settle(&tenant, &month, &id, estimate, estimate)
                    .await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn reservations_settle_and_the_limit_is_exact() {
        let b = Budgets::new(HashMap::from([("t".to_string(), d("1.00"))])).unwrap();
        let r1 = b.reserve("t", d("0.40")).await.unwrap();
        let r2 = b.reserve("t", d("0.40")).await.unwrap();
        assert_eq!(
            b.reserve("t", d("0.30")).await.unwrap_err().code(),
            "budget_exceeded"
        );
        r1.settle(d("0.35")).await;
        r2.settle(d("0.45")).await;
        assert_eq!(b.spent("t").await.unwrap(), d("0.80"));
        let r3 = b.reserve("t", d("0.20")).await.unwrap();
        r3.settle(d("0.20")).await;
        // Exactly at the limit: everything is refused, even a free analysis.
        assert_eq!(b.spent("t").await.unwrap(), d("1.00"));
        assert!(b.reserve("t", Decimal::ZERO).await.is_err());
        // Other tenants have no limit.
        assert!(b.reserve("other", d("1000")).await.is_ok());
        assert!(Budgets::new(HashMap::from([("t".to_string(), d("-1"))])).is_err());
    }

    #[tokio::test]
    async fn an_unsettled_reservation_counts_in_full() {
        let b = Budgets::new(HashMap::from([("t".to_string(), d("1"))])).unwrap();
        drop(b.reserve("t", d("0.6")).await.unwrap());
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(b.spent("t").await.unwrap(), d("0.6"));
        assert!(b.reserve("t", d("0.5")).await.is_err());
    }

    #[test]
    fn rates_are_limited_per_principal_and_per_tenant() {
        let r = RateLimits::per_minute(3, 2).unwrap();
        assert!(r.check("t", "alice").is_ok());
        assert!(r.check("t", "alice").is_ok());
        let e = r.check("t", "alice").unwrap_err();
        assert!(
            matches!(&e, Error::RateLimited { scope, retry_after } if *scope == RateLimitScope::Principal && !retry_after.is_zero()),
            "{e}"
        );
        assert!(r.check("t", "bob").is_ok());
        let e = r.check("t", "carol").unwrap_err();
        assert!(
            matches!(&e, Error::RateLimited { scope, .. } if *scope == RateLimitScope::Tenant),
            "{e}"
        );
        assert!(r.check("u", "alice").is_ok(), "other tenants are separate");
        assert!(RateLimits::per_minute(0, 1).is_err());
    }

    #[test]
    fn idle_keys_are_forgotten_so_state_stays_bounded() {
        // A fast quota (back to full within milliseconds), so keys become idle quickly.
        let r = RateLimits::per_minute(6_000_000, 6_000_000).unwrap();
        for i in 0..5_000 {
            r.check(&format!("t{i}"), &format!("p{i}")).unwrap();
        }
        // Sweeps ran every 1,024 checks; the keys checked since the last one are still held.
        assert!(r.tracked_keys() > 800, "{}", r.tracked_keys());
        std::thread::sleep(std::time::Duration::from_millis(50));
        for _ in 0..SWEEP_EVERY {
            let _ = r.check("t", "p");
        }
        assert!(r.tracked_keys() < 100, "{} keys kept", r.tracked_keys());
    }
}
