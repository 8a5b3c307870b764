//! Lambda's execution environments, played in-process for the tests and the benchmark: an
//! invocation runs in a free environment, or in a new one when all are busy (Lambda runs each
//! concurrent invocation in an environment of its own: its own process, so its own clients and
//! pacers, sharing only what AWS shares), and each invocation has a request id of its own and a
//! deadline (the function's timeout from its start).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::relay::InvokeError;

/// What Lambda tells an invocation about itself.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub request_id: String,
    pub deadline: SystemTime,
}

/// The environments of one function. `D` is what its cold start builds (its dependencies).
pub struct Environments<D> {
    make: Box<dyn Fn() -> D + Send + Sync>,
    free: Mutex<Vec<Arc<D>>>,
    timeout: Duration,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    created: AtomicUsize,
    longest: Mutex<Duration>,
}

impl<D: Send + Sync + 'static> Environments<D> {
    /// Environments whose cold start is `make`, whose invocations may run `timeout` each.
    pub fn new(timeout: Duration, make: impl Fn() -> D + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            make: Box::new(make),
            free: Mutex::new(Vec::new()),
            timeout,
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            created: AtomicUsize::new(0),
            longest: Mutex::new(Duration::ZERO),
        })
    }

    /// Runs one invocation of `event` in an environment: `run` is the function's handler.
    pub async fn invoke<F, Fut>(&self, event: Value, run: F) -> Result<Value, InvokeError>
    where
        F: FnOnce(Arc<D>, Value, Invocation) -> Fut,
        Fut: Future<Output = Result<Value, InvokeError>>,
    {
        let free = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let environment = free.unwrap_or_else(|| {
            self.created.fetch_add(1, Ordering::SeqCst);
            Arc::new((self.make)())
        });
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        let invocation = Invocation {
            request_id: ulid::Ulid::new().to_string(),
            deadline: SystemTime::now() + self.timeout,
        };
        let started = Instant::now();
        let result = run(Arc::clone(&environment), event, invocation).await;
        let took = started.elapsed();
        {
            let mut longest = self.longest.lock().unwrap_or_else(|p| p.into_inner());
            *longest = (*longest).max(took);
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.free.lock().unwrap_or_else(|p| p.into_inner()).push(environment);
        result
    }

    /// The most invocations that ran at the same time.
    pub fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }

    /// How many environments were started (cold starts).
    pub fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    /// The longest invocation so far.
    pub fn longest(&self) -> Duration {
        *self.longest.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_invocations_get_environments_of_their_own_and_reuse_them() {
        let environments =
            Environments::new(Duration::from_secs(900), || std::sync::atomic::AtomicUsize::new(0));
        let run = |env: Arc<AtomicUsize>, _event: Value, invocation: Invocation| async move {
            assert!(invocation.deadline > SystemTime::now() + Duration::from_secs(800));
            env.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Value::from(invocation.request_id))
        };
        let (a, b) =
            tokio::join!(environments.invoke(Value::Null, run), environments.invoke(Value::Null, run));
        assert_ne!(a.unwrap(), b.unwrap(), "a request id each");
        assert_eq!((environments.created(), environments.most_in_flight()), (2, 2));
        environments.invoke(Value::Null, run).await.unwrap();
        assert_eq!(environments.created(), 2, "a free environment is reused");
        assert!(environments.longest() >= Duration::from_millis(20));
    }
}
