//! Test peers for the weekly report job: a real SMTP server on loopback and a small MIME reader.

#![allow(dead_code)]

pub mod mime;
pub mod smtp;
