//! Rolling-upgrade plans (issues 6 and 16): `auto` against `sequential` and against lower
//! bounds, on generated real-shaped clusters (`shapes`), on small clusters against the
//! exhaustive search, and on the uniform cluster of issue 6 with the planning time at
//! 10,000 hosts (`uniform`).
//! Run: `cargo bench -p uplift --bench rolling_plan` (figures go to docs/benchmarks.md).

mod shapes;
mod uniform;

fn main() {
    let rows = shapes::suite();
    let targeted: Vec<&shapes::Row> = rows.iter().filter(|r| r.load <= 70.0).collect();
    let worst = |f: fn(&shapes::Row) -> f64, low: bool| {
        targeted
            .iter()
            .map(|r| (f(r), r.label.as_str()))
            .reduce(|a, b| if (a.0 < b.0) == low { a } else { b })
            .unwrap_or((f64::NAN, "none"))
    };
    let (speedup, at) = worst(|r| r.speedup, true);
    println!("worst speed-up at load <= 70 %: {speedup:.1}x ({at})");
    let (ratio, at) = worst(|r| r.migration_ratio, false);
    println!("worst migrations auto / sequential at load <= 70 %: {ratio:.3} ({at})");
    let (ratio, at) = worst(|r| r.wave_ratio, false);
    println!("worst waves / one-move bound at load <= 70 %: {ratio:.2} ({at})");
    let (ratio, at) = worst(|r| r.time_ratio, false);
    println!("worst seconds / memory-only bound at load <= 70 %: {ratio:.2} ({at})");
    println!();
    shapes::small();
    println!();
    uniform::run();
}
