//! Many callers at once, a fair queue, and cancellation of queued and running jobs.

mod runtime_common;

use std::time::{Duration, Instant};

use cadquery_lsp::progress::CancellationToken;
use cadquery_lsp::runtime::{ExecRequest, Job, JobOutput, RuntimeError, WorkerPool};
use runtime_common::*;

const LOOP: &str = "import cadquery as cq\nwhile True:\n    pass\n";

fn execute(
    pool: &WorkerPool,
    code: &str,
    cancel: &CancellationToken,
) -> Result<JobOutput, RuntimeError> {
    pool.execute(Job::Execute(ExecRequest::facts(code)), cancel)
}

#[test]
fn fifty_concurrent_jobs_on_two_workers_all_answered() {
    let pool = pool(2, Duration::from_secs(20));
    let t = Instant::now();
    let volumes: Vec<(f64, f64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..=50)
            .map(|i| {
                let pool = &pool;
                s.spawn(move || {
                    let x = i as f64 / 10.0;
                    (x, built(pool, &box_script(x)).facts.volume)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // every caller got the answer to its own job
    for (x, v) in &volumes {
        assert!((v - x).abs() < 1e-9, "job for {x} got volume {v}");
    }
    assert_eq!(volumes.len(), 50);
    // bounded: ~40 ms a job on 2 workers is ~1 s; leave room for a loaded machine
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
}

#[test]
fn cancellation_removes_queued_and_kills_running_jobs() {
    let pool = pool(1, Duration::from_secs(30));
    let running = CancellationToken::new();
    let queued = CancellationToken::new();
    std::thread::scope(|s| {
        let blocker = s.spawn(|| execute(&pool, LOOP, &running));
        std::thread::sleep(Duration::from_millis(300));
        // the only worker is busy: this job waits in the queue
        let waiting = s.spawn(|| execute(&pool, &box_script(1.0), &queued));
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        queued.cancel();
        let r = waiting.join().unwrap();
        assert!(matches!(r, Err(RuntimeError::Cancelled)), "{r:?}");
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        assert!(!blocker.is_finished(), "the running job is untouched");
        let t = Instant::now();
        running.cancel();
        let r = blocker.join().unwrap();
        assert!(matches!(r, Err(RuntimeError::Cancelled)), "{r:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    });
    // the killed worker was replaced
    assert_serves(&pool);
    // a token cancelled before submission never runs
    let done = CancellationToken::new();
    done.cancel();
    assert!(matches!(
        execute(&pool, &box_script(1.0), &done),
        Err(RuntimeError::Cancelled)
    ));
}

#[test]
fn queue_is_fifo() {
    let pool = pool(1, Duration::from_secs(20));
    let order = std::sync::Mutex::new(Vec::new());
    let blocker = CancellationToken::new();
    std::thread::scope(|s| {
        let b = s.spawn(|| execute(&pool, "import time\ntime.sleep(1)\nimport cadquery as cq\nresult = cq.Workplane().box(1,1,1)\n", &blocker));
        std::thread::sleep(Duration::from_millis(200));
        let mut hs = Vec::new();
        for i in 1..=5 {
            let (pool, order) = (&pool, &order);
            hs.push(s.spawn(move || {
                built(pool, &box_script(i as f64));
                order.lock().unwrap().push(i);
            }));
            // submission order is the spawn order
            std::thread::sleep(Duration::from_millis(50));
        }
        b.join().unwrap().unwrap();
        for h in hs {
            h.join().unwrap();
        }
    });
    assert_eq!(*order.lock().unwrap(), vec![1, 2, 3, 4, 5]);
}

#[test]
fn async_execute_answers_and_cancels() {
    let pool = pool(1, Duration::from_secs(30));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let none = CancellationToken::new();
        let out = pool
            .execute_async(Job::Execute(ExecRequest::facts(box_script(3.0))), &none)
            .await
            .unwrap();
        let JobOutput::Executed(Ok(b)) = out else {
            panic!("{out:?}")
        };
        assert!((b.facts.volume - 3.0).abs() < 1e-9);

        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            c2.cancel();
        });
        let t = Instant::now();
        let r = pool
            .execute_async(Job::Execute(ExecRequest::facts(LOOP)), &cancel)
            .await;
        assert!(matches!(r, Err(RuntimeError::Cancelled)), "{r:?}");
        assert!(t.elapsed() < Duration::from_secs(3));
    });
    assert_serves(&pool);
}
