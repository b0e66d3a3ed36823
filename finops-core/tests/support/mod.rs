pub mod ledger_writers;
