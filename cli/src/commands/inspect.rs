//! `segcore sizes | why | advise`: the catalog at a glance, one profile's reasons, and the
//! advisor's review.

use std::path::Path;

use segcore::insight::{Advisor, Measure, Outcome as KpiOutcome};

use crate::args::{AdviseArgs, NowArgs, WhyArgs};
use crate::output::{now_or_present, open_existing, query, spinner, Failure, Outcome};

pub fn sizes(dir: &Path, args: NowArgs) -> Outcome {
    let audience = open_existing(dir)?;
    let now = now_or_present(args.now);
    let bar = spinner("sizing segments");
    let sizes = audience.sizes(now);
    bar.finish_and_clear();
    let sizes = sizes?;
    if sizes.is_empty() {
        println!("no segments defined: add some with `segcore define FILE`");
        return Ok(());
    }
    let width = sizes.iter().map(|s| s.name.len()).max().unwrap_or(7).max(7);
    println!("{:<width$}  {:>10}  {:>6}", "segment", "members", "share");
    for s in sizes {
        println!(
            "{:<width$}  {:>10}  {:>5.1}%",
            s.name,
            s.members,
            s.share * 100.0
        );
    }
    Ok(())
}

pub fn why(dir: &Path, args: WhyArgs) -> Outcome {
    let audience = open_existing(dir)?;
    // Parsed first so that a mistake in the predicate is shown with a caret.
    query(&audience, &args.segment)?;
    let why = audience.why(&args.id, &args.segment, now_or_present(args.now.now))?;
    let verdict = if why.holds { "is in" } else { "is not in" };
    println!("{} {verdict} {}:", args.id, args.segment);
    println!("{why}");
    Ok(())
}

pub fn advise(dir: &Path, args: AdviseArgs) -> Outcome {
    let audience = open_existing(dir)?;
    let now = now_or_present(args.now.now);
    let outcome = match (&args.converts, &args.sum) {
        (Some(text), None) => KpiOutcome::Converts {
            predicate: query(&audience, text)?,
            at: args.at.unwrap_or(now),
        },
        (None, Some(spec)) => {
            let (event, property) = spec
                .rsplit_once('.')
                .ok_or_else(|| Failure(format!("--sum {spec:?}: expected EVENT.PROPERTY")))?;
            KpiOutcome::Sum {
                event: event.to_owned(),
                property: property.to_owned(),
                from: args.from.expect("clap requires --from"),
                to: args.to.expect("clap requires --to"),
            }
        }
        _ => unreachable!("clap requires exactly one of --converts and --sum"),
    };
    let advisor = Advisor::new(outcome, now, args.minimum_effect);
    let bar = spinner("reviewing segments");
    let advice = audience.advise(&advisor);
    bar.finish_and_clear();
    let advice = advice?;
    if advice.findings.is_empty() {
        println!("no segments to review: add some with `segcore define FILE`");
    }
    for f in &advice.findings {
        println!("{:<18} {}", f.kind.name(), f.reason);
    }
    if !advice.suggested.is_empty() {
        println!("\nsuggested segments (outcomes that differ):");
        for g in &advice.suggested {
            let estimate = match (&g.measure, g.measure.estimate()) {
                (Measure::Rate(_), Some(r)) => format!("{:.1}%", r * 100.0),
                (Measure::Value(_), Some(v)) => format!("{v:.2} a member"),
                (_, None) => "no members".to_owned(),
            };
            println!("  {:<40} {estimate}", g.segments.join(" + "));
        }
    }
    Ok(())
}
