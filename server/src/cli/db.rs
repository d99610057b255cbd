//! `uplift db copy --from URL --to URL`: an installation moved between databases (SQLite to
//! PostgreSQL, typically), through the store's copy. Only the command's door lives here.

use clap::Subcommand;

use crate::cli::CliError;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy a whole installation (users, inventory, jobs, events, configuration,
    /// subscriptions; not sessions) into an empty database. Both are brought up to this
    /// Uplift's schema first.
    Copy {
        /// The database to read, e.g. sqlite:///var/lib/uplift/uplift.db.
        #[arg(long)]
        from: String,
        /// The empty database to fill, e.g. postgres://uplift@db.example.com/uplift.
        #[arg(long)]
        to: String,
    },
}

pub async fn run_db(command: &DbCommand) -> Result<(), CliError> {
    match command {
        DbCommand::Copy { from, to } => {
            if from == to {
                return Err(CliError::Usage(
                    "--from and --to name the same database".to_string(),
                ));
            }
            let (backend, copied) = Store::copy_between(from, to).await?;
            let rows: u64 = copied.iter().map(|(_, n)| n).sum();
            println!("Copied {rows} rows into the {} database.", backend.as_str());
            for (table, n) in copied.iter().filter(|(_, n)| *n > 0) {
                println!("  {table}: {n}");
            }
            Ok(())
        }
    }
}
