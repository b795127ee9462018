//! BigQuery over REST (`jobs.query` / `jobs.getQueryResults`): runs the GoogleSQL that pushes
//! the heavy GROUP BYs over the GA4 export into BigQuery, and hands back scalar result rows.
//! [`client`] is the transport: auth, the bytes-billed guard, polling, paging and typed errors.

pub mod client;
