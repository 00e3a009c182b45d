//! Owns fetch budgets: how many outbound requests one unit of work may make. An inbound
//! activity (its key fetch, its object, whatever applying it fetches) gets
//! [`INBOUND_FETCHES`]; a backfill gets `federation.backfill_fetches` for its whole walk.
//! The budget lives in a task-local scope ([`within`]) and is counted by a middleware of
//! the federation library's HTTP client ([`CountFetches`]), so every request that client
//! sends inside the scope counts, redirects and nested fetches included, and no code
//! below can start it afresh (the library's own per-`Data` counter can be reset; this
//! one cannot). Deliveries use the plain client and are not counted here.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest_middleware::{Middleware, Next};

/// Fetches one inbound activity may cause (SPEC §3: at most 20 per incoming activity).
pub const INBOUND_FETCHES: u32 = 20;

/// A number of requests left, shared by everything a scope runs.
#[derive(Debug)]
pub struct FetchBudget {
    left: AtomicU32,
    spent: AtomicU32,
}

impl FetchBudget {
    fn new(fetches: u32) -> Self {
        Self {
            left: AtomicU32::new(fetches),
            spent: AtomicU32::new(0),
        }
    }

    /// Takes one request from the budget; false when it is spent.
    fn take(&self) -> bool {
        let taken = self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if taken {
            self.spent.fetch_add(1, Ordering::SeqCst);
        }
        taken
    }

    /// Requests sent so far in this scope.
    pub fn spent(&self) -> u32 {
        self.spent.load(Ordering::SeqCst)
    }
}

tokio::task_local! {
    static BUDGET: Arc<FetchBudget>;
}

/// Runs `work` with a budget of `fetches` outbound requests, shared by every request the
/// federation client sends while it runs (in this task). Returns its output and the
/// requests it sent.
pub async fn within<F: Future>(fetches: u32, work: F) -> (F::Output, u32) {
    let budget = Arc::new(FetchBudget::new(fetches));
    let output = BUDGET.scope(budget.clone(), work).await;
    (output, budget.spent())
}

/// The budget's error: the request was not sent.
#[derive(Debug, thiserror::Error)]
#[error("fetch budget spent ({0} requests)")]
pub struct BudgetSpent(u32);

/// Middleware of the federation client: counts each request against the current
/// scope's budget and refuses it, unsent, once the budget is spent. Outside any scope
/// (the command line, the API), requests pass; the library's per-request limit still
/// applies to them.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountFetches;

#[async_trait::async_trait]
impl Middleware for CountFetches {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let refused = BUDGET
            .try_with(|budget| (!budget.take()).then(|| budget.spent()))
            .ok()
            .flatten();
        if let Some(spent) = refused {
            tracing::info!(url = %request.url(), spent, "fetch refused: budget spent");
            return Err(reqwest_middleware::Error::middleware(BudgetSpent(spent)));
        }
        next.run(request, extensions).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_budget_per_scope() {
        let ((), spent) = within(2, async {
            let budget = BUDGET.with(Arc::clone);
            assert!(budget.take() && budget.take());
            assert!(!budget.take(), "spent");
            // A nested call in the same scope shares it.
            assert!(!BUDGET.with(|b| b.take()));
        })
        .await;
        assert_eq!(spent, 2);
        assert!(
            BUDGET.try_with(|_| ()).is_err(),
            "no budget outside a scope"
        );
    }
}
