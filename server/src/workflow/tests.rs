//! The step runner against a model: random flows over a small world, crashed at random step
//! boundaries and replayed, must end exactly where an uncrashed run ends.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Once};

use proptest::prelude::*;
use time::OffsetDateTime;

use super::*;
use crate::store::StoreResult;

/// The log in memory, kept across "restarts" like the database would be.
#[derive(Default)]
struct MemoryLog {
    jobs: Mutex<HashMap<String, Vec<StepRecord>>>,
}

impl MemoryLog {
    fn states(&self, job_id: &str) -> BTreeMap<String, Recorded> {
        self.jobs
            .lock()
            .unwrap()
            .get(job_id)
            .into_iter()
            .flatten()
            .map(|r| (r.key.clone(), r.state.clone()))
            .collect()
    }
}

#[async_trait::async_trait]
impl StepLog for MemoryLog {
    async fn load(&self, job_id: &str) -> StoreResult<Vec<StepRecord>> {
        Ok(self
            .jobs
            .lock()
            .unwrap()
            .get(job_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn started(&self, job_id: &str, step: &Step, _at: OffsetDateTime) -> StoreResult<()> {
        let mut jobs = self.jobs.lock().unwrap();
        let records = jobs.entry(job_id.to_string()).or_default();
        if !records.iter().any(|r| r.key == step.key) {
            records.push(StepRecord {
                key: step.key.clone(),
                state: Recorded::Started,
            });
        }
        Ok(())
    }

    async fn ended(
        &self,
        job_id: &str,
        step: &Step,
        outcome: &Result<serde_json::Value, StepError>,
        _message: &str,
        _at: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut jobs = self.jobs.lock().unwrap();
        let record = jobs
            .get_mut(job_id)
            .and_then(|records| records.iter_mut().find(|r| r.key == step.key))
            .expect("a step ends after it started");
        record.state = match outcome {
            Ok(value) => Recorded::Succeeded(value.clone()),
            Err(error) => Recorded::Failed(error.clone()),
        };
        Ok(())
    }

    async fn progress(&self, _job_id: &str, _percent: f64) -> StoreResult<()> {
        Ok(())
    }
}

/// What the flows act on: numbered registers, the tokens of additions already applied, and
/// the values steps with an undo found before they changed them.
#[derive(Clone, Debug, Default, PartialEq)]
struct World {
    values: BTreeMap<u8, i64>,
    applied: BTreeSet<String>,
    remembered: BTreeMap<String, Option<i64>>,
}

type Shared = Arc<Mutex<World>>;

#[derive(Clone, Debug)]
enum Op {
    /// Idempotent by nature.
    Set(u8, i64),
    /// Idempotent through a token: applied once per step.
    Add(u8, i64),
    /// Remembers the old value; its undo puts it back.
    SetWithUndo(u8, i64),
    /// Reads the world; the flow adds 1 to the next register when the value is even.
    Decide(u8),
    /// Fails: the flow unwinds and ends failed.
    Fail,
    /// The point of no return.
    Commit,
    /// Several additions at once.
    Parallel(Vec<(u8, i64)>),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0_u8..4;
    prop_oneof![
        (key.clone(), -5_i64..5).prop_map(|(k, v)| Op::Set(k, v)),
        (key.clone(), -5_i64..5).prop_map(|(k, v)| Op::Add(k, v)),
        (key.clone(), -5_i64..5).prop_map(|(k, v)| Op::SetWithUndo(k, v)),
        key.clone().prop_map(Op::Decide),
        Just(Op::Fail),
        Just(Op::Commit),
        prop::collection::vec((key, -5_i64..5), 1..4).prop_map(Op::Parallel),
    ]
}

async fn add(world: &Shared, token: String, key: u8, delta: i64) -> StepResult<i64> {
    let mut world = world.lock().unwrap();
    if world.applied.insert(token) {
        *world.values.entry(key).or_default() += delta;
    }
    Ok(world.values[&key])
}

/// A flow over `ops`; its end in words.
async fn model_flow(flow: &Flow, world: &Shared, ops: &[Op]) -> String {
    for (i, op) in ops.iter().enumerate() {
        let outcome: StepResult<()> = async {
            match op {
                Op::Set(k, v) => {
                    flow.step(Step::keyed("set", format!("{i} set")), || async {
                        world.lock().unwrap().values.insert(*k, *v);
                        Ok(())
                    })
                    .await
                }
                Op::Add(k, d) => {
                    let key = format!("{i} add");
                    flow.step(Step::keyed("add", key.clone()), || {
                        add(world, key.clone(), *k, *d)
                    })
                    .await
                    .map(drop)
                }
                Op::SetWithUndo(k, v) => {
                    let undo_world = world.clone();
                    let key = *k;
                    flow.step_with_undo(
                        Step::keyed("set with undo", format!("{i} set with undo")),
                        || async {
                            let mut world = world.lock().unwrap();
                            // Idempotent: a second run answers the value the first one found.
                            let current = world.values.get(k).copied();
                            let before = *world.remembered.entry(format!("{i}")).or_insert(current);
                            world.values.insert(*k, *v);
                            Ok(before)
                        },
                        move |before: Option<i64>| {
                            let world = undo_world.clone();
                            async move {
                                let mut world = world.lock().unwrap();
                                match before {
                                    Some(value) => world.values.insert(key, value),
                                    None => world.values.remove(&key),
                                };
                                Ok(())
                            }
                        },
                    )
                    .await
                    .map(drop)
                }
                Op::Decide(k) => {
                    let seen: i64 = flow
                        .step(Step::keyed("decide", format!("{i} decide")), || async {
                            Ok(world.lock().unwrap().values.get(k).copied().unwrap_or(0))
                        })
                        .await?;
                    if seen % 2 == 0 {
                        let key = format!("{i} even");
                        flow.step(Step::keyed("add", key.clone()), || {
                            add(world, key.clone(), k.wrapping_add(1) % 4, 1)
                        })
                        .await?;
                    }
                    Ok(())
                }
                Op::Fail => {
                    flow.step(Step::keyed("fail", format!("{i} fail")), || async {
                        Err::<(), _>(StepError::Refused("the model says no".into()))
                    })
                    .await
                }
                Op::Commit => {
                    flow.commit();
                    Ok(())
                }
                Op::Parallel(adds) => {
                    let steps = adds.iter().enumerate().map(|(j, (k, d))| {
                        let key = format!("{i}.{j} add");
                        async move {
                            flow.step(Step::keyed("add", key.clone()), || {
                                add(world, key.clone(), *k, *d)
                            })
                            .await
                        }
                    });
                    for outcome in futures::future::join_all(steps).await {
                        outcome?;
                    }
                    Ok(())
                }
            }
        }
        .await;
        if let Err(error) = outcome {
            return match flow.unwind().await {
                Ok(()) => format!("failed: {error}"),
                Err(undo) => format!("failed: {error}; undo failed: {undo}"),
            };
        }
    }
    "done".to_string()
}

fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let injected = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m.starts_with("injected crash"));
            if !injected {
                default(info);
            }
        }));
    });
}

/// Runs the flow to its end, crashing it at each of `crashes` (the n-th boundary of that
/// run) and replaying it from the log each time, like a restarted server.
async fn run_with_crashes(
    ops: Vec<Op>,
    crashes: Vec<u32>,
) -> (World, String, BTreeMap<String, Recorded>) {
    quiet_injected_panics();
    let log = Arc::new(MemoryLog::default());
    let world: Shared = Arc::default();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let runs = crashes
        .into_iter()
        .map(Faults::panic_at_boundary)
        .chain([Faults::none()]);
    for faults in runs {
        let (run_log, run_world, ops, clock) =
            (log.clone(), world.clone(), ops.clone(), clock.clone());
        let run = tokio::spawn(async move {
            let flow = Flow::load("job", "model", run_log, clock, faults)
                .await
                .unwrap();
            model_flow(&flow, &run_world, &ops).await
        });
        match run.await {
            Ok(end) => {
                let world = world.lock().unwrap().clone();
                return (world, end, log.states("job"));
            }
            Err(crash) => assert!(crash.is_panic()),
        }
    }
    unreachable!("the last run has no crash")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn crashes_anywhere_end_where_an_uncrashed_run_ends(
        ops in prop::collection::vec(op(), 1..12),
        crashes in prop::collection::vec(1_u32..12, 0..5),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (world, end, log) = runtime.block_on(run_with_crashes(ops.clone(), Vec::new()));
        let crashed = runtime.block_on(run_with_crashes(ops, crashes));
        prop_assert_eq!(&crashed.0.values, &world.values);
        prop_assert_eq!(&crashed.1, &end);
        prop_assert_eq!(&crashed.2, &log);
    }
}

#[tokio::test]
async fn a_failure_undoes_the_steps_before_it_newest_first_but_not_before_a_commit() {
    let ops = vec![
        Op::SetWithUndo(0, 7),
        Op::Commit,
        Op::SetWithUndo(1, 8),
        Op::SetWithUndo(1, 9),
        Op::Fail,
    ];
    let (world, end, log) = run_with_crashes(ops, Vec::new()).await;
    assert_eq!(end, "failed: the model says no");
    // Register 0 was set before the commit: it stays. Register 1 is back to nothing.
    assert_eq!(world.values, BTreeMap::from([(0, 7)]));
    let undone: Vec<&String> = log.keys().filter(|k| k.starts_with("undo")).collect();
    assert_eq!(undone, ["undo 2 set with undo", "undo 3 set with undo"]);
}

#[tokio::test]
async fn a_step_crashed_after_its_side_effect_runs_again_and_is_recorded_once() {
    // Boundaries: 1 = before step 0, 2 = after step 0 (its side effect done, not recorded).
    let ops = vec![Op::Add(0, 5), Op::Add(0, 1)];
    let (world, end, log) = run_with_crashes(ops, vec![2]).await;
    assert_eq!(end, "done");
    assert_eq!(world.values[&0], 6);
    assert!(log.values().all(|r| matches!(r, Recorded::Succeeded(_))));
}

#[tokio::test]
async fn every_action_may_run_twice_in_a_row() {
    let log = Arc::new(MemoryLog::default());
    let world: Shared = Arc::default();
    let ops = vec![
        Op::Add(0, 2),
        Op::SetWithUndo(1, 3),
        Op::Decide(0),
        Op::Fail,
    ];
    let faults = Faults::repeating();
    let flow = Flow::load("job", "model", log.clone(), Arc::new(SystemClock), faults)
        .await
        .unwrap();
    let end = model_flow(&flow, &world, &ops).await;
    let (expected_world, expected_end, _) = run_with_crashes(ops, Vec::new()).await;
    assert_eq!(end, expected_end);
    assert_eq!(world.lock().unwrap().values, expected_world.values);
}

#[tokio::test(start_paused = true)]
async fn a_step_past_the_deadline_fails_with_the_timeout_and_is_recorded_so() {
    let log = Arc::new(MemoryLog::default());
    let clock = Arc::new(TokioClock::starting_at(OffsetDateTime::UNIX_EPOCH));
    let flow = Flow::load("job", "model", log.clone(), clock.clone(), Faults::none())
        .await
        .unwrap();
    flow.set_deadline(Some((
        clock.now() + time::Duration::minutes(1),
        "took longer than 1 minute".to_string(),
    )));
    let slow = flow
        .step(Step::once("slow"), || async {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            Ok(())
        })
        .await;
    assert_eq!(
        slow,
        Err(StepError::Timeout("took longer than 1 minute".into()))
    );
    assert_eq!(
        log.states("job")["slow"],
        Recorded::Failed(StepError::Timeout("took longer than 1 minute".into()))
    );
    // A replay meets the same failure without running the step.
    let replay = Flow::load("job", "model", log.clone(), clock, Faults::none())
        .await
        .unwrap();
    let again = replay.step(Step::once("slow"), || async { Ok(()) }).await;
    assert!(matches!(again, Err(StepError::Timeout(_))));
}
