//! `fan-out`: each new alert on the alerts table's stream reaches every other member of its
//! community, by SMS and by email, exactly once per member and channel.

pub mod handler;
