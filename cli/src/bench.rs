//! `g1d bench sim`.

use anyhow::Result;

#[derive(clap::Args)]
pub struct BenchSimArgs {
    /// Simulated seconds per measurement.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    #[arg(long)]
    pub json: bool,
}

pub fn bench_sim(_a: BenchSimArgs) -> Result<()> {
    anyhow::bail!("not yet")
}
