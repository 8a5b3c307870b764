//! At-least-once AWS: fan-out at scale under shared quotas, duplicates, crashes, faults and lost
//! answers, the IAM contract.

mod at_least_once;
mod crash;
mod fanout;
mod faults;
mod iam_contract;
