//! What admins configure and read: groups, settings, and the audit log every change writes to.

pub mod audit;
pub mod groups;
pub mod settings;
