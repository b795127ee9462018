//! Test peers for the weekly report job: a real SMTP server on loopback, a small MIME reader and
//! the sent-state files.

#![allow(dead_code)]

pub mod mime;
pub mod smtp;
pub mod state;
