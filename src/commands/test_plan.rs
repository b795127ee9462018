//! `optsignal test-plan`: weeks of traffic an A/B test needs on purchase and on each proxy.

use optsignal::error::Error;

use super::common::{data_settings, to_json, DataArgs, Format};
use super::{Global, Outcome};

/// The arguments of `test-plan`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Relative lift to detect: 10% or 0.1.
    #[arg(long, default_value = "10%", value_parser = optsignal::testplan::parse_relative)]
    mde: f64,
    /// Two-sided significance level.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Power.
    #[arg(long, default_value_t = 0.8)]
    power: f64,
    /// Arms, control included.
    #[arg(long, default_value_t = 2)]
    arms: u32,
}

/// Validates the test's parameters, analyses the log and renders the plan.
pub fn exec(global: &Global, a: Args) -> Result<Outcome, Error> {
    let params = optsignal::testplan::TestParams {
        mde: a.mde,
        alpha: a.alpha,
        power: a.power,
        arms: a.arms,
    };
    params.validate()?;
    let settings = data_settings(global, &a.data, None)?;
    let report = optsignal::pipeline::analyze(&settings)?;
    let plan = optsignal::report::replan(&report, params);
    Ok(Outcome::ok(match a.data.format {
        Format::Json => to_json(&plan),
        Format::Table => {
            optsignal::report::terminal::render_test_plan(&report, &plan, global.style())
        }
    }))
}
