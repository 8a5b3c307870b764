//! What SMS cost, and who pays: every alert's SMS is counted in parts (parts of its SMS x the
//! neighbours texted) against its community's monthly budget (`SMS_MONTHLY_PARTS`, or the
//! community's own, set by the import or a referent) and the service's daily ceiling
//! (`SMS_DAILY_PARTS`), in the transaction that records the alert: two alerts at the same
//! moment cannot both take the last parts.
//!
//! When an alert's SMS would pass its community's budget, it goes by email and in the feed
//! only, and its sender is told; a police alert or one in the fire and danger category still
//! goes by SMS and is counted (the budget may then show more spent than it holds). Nothing
//! passes the service's daily ceiling, which keeps the account below its spend limit: past it
//! every alert goes by email and feed only, and the operators' alarm has fired at 80 %.

use tracing::info;

use crate::domain::{AlertSource, Category, Community, SmsWithheld};
use crate::model::{Charge, SpendKey};
use crate::ports::{Registry, SmsSpend, StoreError};

/// The service's budgets, in SMS parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmsBudgets {
    /// A community's month, unless it has its own (`SMS_MONTHLY_PARTS`).
    pub monthly_parts: u32,
    /// The whole service's day, UTC (`SMS_DAILY_PARTS`).
    pub daily_parts: u32,
}

impl Default for SmsBudgets {
    fn default() -> Self {
        Self { monthly_parts: 1000, daily_parts: 5000 }
    }
}

impl SmsBudgets {
    /// The parts `community`'s alerts may take in a month.
    #[must_use]
    pub fn monthly_for(&self, community: &Community) -> u32 {
        community.sms_budget.unwrap_or(self.monthly_parts)
    }
}

/// The month `at_ms` falls in, in `community`'s time zone (`2026-12`).
#[must_use]
pub fn month_of(community: &Community, at_ms: i64) -> String {
    let t = community.time_zone.local_time(at_ms);
    format!("{:04}-{:02}", t.year, t.month)
}

/// The day `at_ms` falls in, UTC (`2026-12-03`).
#[must_use]
pub fn day_of(at_ms: i64) -> String {
    let t = crate::domain::TimeZoneId::utc().local_time(at_ms);
    format!("{:04}-{:02}-{:02}", t.year, t.month, t.day)
}

/// Whether an alert still goes by SMS past its community's budget: the police's, and fires
/// and dangers.
#[must_use]
pub fn past_budget_still_texted(source: AlertSource, category: Option<Category>) -> bool {
    source == AlertSource::Police || category == Some(Category::Danger)
}

/// What one alert's SMS will do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Parts counted for it (0 when withheld).
    pub sms_parts: u32,
    pub withheld: Option<SmsWithheld>,
}

/// One alert to plan: its community, the parts its SMS would take (parts x neighbours
/// texted), and what the community spent this month so far.
#[derive(Clone, Debug)]
pub struct Ask<'a> {
    pub community: &'a Community,
    pub parts: u32,
    pub month_spent: u32,
}

/// Decides, for the alerts of one raise, which go by SMS and the charges that pay for them:
/// in order, each alert's parts against the service's day (what the earlier ones took
/// included) and, unless `still_texted`, its community's month.
#[must_use]
pub fn plan(
    asks: &[Ask<'_>],
    still_texted: bool,
    day_spent: u32,
    budgets: &SmsBudgets,
    month: impl Fn(&Community) -> String,
    day: &str,
) -> (Vec<Plan>, Vec<Charge>) {
    let mut day_used = day_spent;
    let mut plans = Vec::with_capacity(asks.len());
    let mut charges = Vec::new();
    for ask in asks {
        let monthly = budgets.monthly_for(ask.community);
        let withheld = if ask.parts == 0 {
            None
        } else if day_used.saturating_add(ask.parts) > budgets.daily_parts {
            Some(SmsWithheld::DailyCeiling)
        } else if !still_texted && ask.month_spent.saturating_add(ask.parts) > monthly {
            Some(SmsWithheld::MonthlyBudget)
        } else {
            None
        };
        if withheld.is_none() && ask.parts > 0 {
            day_used += ask.parts;
            charges.push(Charge {
                key: SpendKey::Month { community: ask.community.id.clone(), month: month(ask.community) },
                parts: ask.parts,
                up_to: (!still_texted).then_some(monthly),
            });
        }
        plans.push(Plan { sms_parts: if withheld.is_none() { ask.parts } else { 0 }, withheld });
    }
    if day_used > day_spent {
        charges.push(Charge {
            key: SpendKey::Day(day.to_owned()),
            parts: day_used - day_spent,
            up_to: Some(budgets.daily_parts),
        });
    }
    (plans, charges)
}

/// Logs the service's day once counted: `sms_day_percent` is what the template's metric filter
/// reads for `SmsDailyCeilingAlarm` (80 %).
pub fn log_day(day_spent: u32, charged: u32, budgets: &SmsBudgets) {
    let spent = day_spent.saturating_add(charged);
    let percent =
        if budgets.daily_parts == 0 { 100 } else { u64::from(spent) * 100 / u64::from(budgets.daily_parts) };
    info!(sms_day_parts = spent, sms_day_percent = percent, "SMS parts counted for the day");
}

/// A community's month: spent and budget, in parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Month {
    /// `2026-12`.
    pub month: String,
    pub spent: u32,
    pub budget: u32,
}

impl Month {
    #[must_use]
    pub fn left(&self) -> u32 {
        self.budget.saturating_sub(self.spent)
    }
}

/// `community`'s last `months` months that were counted, newest first (the current one first
/// even when nothing was spent yet), against today's budget.
pub async fn history<S: SmsSpend>(
    store: &S,
    community: &Community,
    budgets: &SmsBudgets,
    now_ms: i64,
    months: i32,
) -> Result<Vec<Month>, StoreError> {
    let budget = budgets.monthly_for(community);
    let current = month_of(community, now_ms);
    let mut list: Vec<Month> = store
        .community_months(&community.id, months)
        .await?
        .into_iter()
        .map(|(month, spent)| Month { month, spent, budget })
        .collect();
    if list.first().is_none_or(|m| m.month != current) {
        list.insert(0, Month { month: current, spent: 0, budget });
        list.truncate(months.max(1) as usize);
    }
    Ok(list)
}

/// The largest monthly budget a community may be given, in parts.
pub const MAX_OWN_BUDGET: u32 = 1_000_000;

/// A monthly budget that is not a whole number of parts from 0 to [`MAX_OWN_BUDGET`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidBudget;

/// A monthly budget as typed by a referent: empty for the service's default, or a whole number
/// of parts up to [`MAX_OWN_BUDGET`] (spaces between thousands allowed).
pub fn parse_own_budget(raw: &str) -> Result<Option<u32>, InvalidBudget> {
    let digits: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '\u{202f}').collect();
    if digits.is_empty() {
        return Ok(None);
    }
    match digits.parse::<u32>() {
        Ok(parts) if parts <= MAX_OWN_BUDGET && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(parts)),
        _ => Err(InvalidBudget),
    }
}

/// Gives `community` its own monthly budget (`None`: the service's default again).
pub async fn set_own_budget<S: Registry>(
    store: &S,
    community: &Community,
    parts: Option<u32>,
) -> Result<Community, StoreError> {
    let community = Community { sms_budget: parts, ..community.clone() };
    store.put_community(&community).await?;
    info!(community = %community.id, budget = ?parts, "community SMS budget set");
    Ok(community)
}

/// What an alert would cost now in one community, and what its SMS would do: what the raise
/// page shows before sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Estimate {
    pub community: Community,
    /// Parts of one SMS.
    pub sms_parts: u32,
    /// Neighbours it would text.
    pub texted: usize,
    pub month: Month,
    /// Whether it would go without SMS, and why.
    pub withheld: Option<SmsWithheld>,
}

/// The plan of alerts of these `parts` (each: parts x neighbours texted) to `communities` at
/// `at_ms`, on the counters as they are now.
#[derive(Clone, Debug)]
pub struct Planned {
    pub plans: Vec<Plan>,
    pub charges: Vec<Charge>,
    /// What each community spent this month, and the service today, before these alerts.
    pub month_spent: Vec<u32>,
    pub day_spent: u32,
}

/// Reads the counters of `communities`' months and of the day, then [`plan`]s: what the raise
/// records and the confirmation step shows.
pub async fn read_and_plan<S: SmsSpend>(
    store: &S,
    communities: &[Community],
    parts: &[u32],
    still_texted: bool,
    budgets: &SmsBudgets,
    at_ms: i64,
) -> Result<Planned, StoreError> {
    let day = day_of(at_ms);
    let mut keys: Vec<SpendKey> = communities
        .iter()
        .map(|c| SpendKey::Month { community: c.id.clone(), month: month_of(c, at_ms) })
        .collect();
    keys.push(SpendKey::Day(day.clone()));
    let mut month_spent = store.sms_spent(&keys).await?;
    let day_spent = month_spent.pop().unwrap_or(0);
    let asks: Vec<Ask<'_>> = communities
        .iter()
        .zip(parts)
        .zip(&month_spent)
        .map(|((community, parts), spent)| Ask { community, parts: *parts, month_spent: *spent })
        .collect();
    let (plans, charges) = plan(&asks, still_texted, day_spent, budgets, |c| month_of(c, at_ms), &day);
    Ok(Planned { plans, charges, month_spent, day_spent })
}

/// What an alert of `sms_parts` parts to `texted[i]` neighbours of each of `communities` would
/// do now (the same [`plan`] as the raise, on the counters as they are).
pub async fn estimate<S: SmsSpend>(
    store: &S,
    communities: &[Community],
    texted: &[usize],
    sms_parts: u32,
    still_texted: bool,
    budgets: &SmsBudgets,
    now_ms: i64,
) -> Result<Vec<Estimate>, StoreError> {
    let parts: Vec<u32> = texted.iter().map(|n| cost_of(sms_parts, *n)).collect();
    let planned = read_and_plan(store, communities, &parts, still_texted, budgets, now_ms).await?;
    Ok(communities
        .iter()
        .zip(texted)
        .zip(planned.month_spent.iter().zip(&planned.plans))
        .map(|((community, texted), (spent, plan))| Estimate {
            community: community.clone(),
            sms_parts,
            texted: *texted,
            month: Month {
                month: month_of(community, now_ms),
                spent: *spent,
                budget: budgets.monthly_for(community),
            },
            withheld: plan.withheld,
        })
        .collect())
}

/// What an SMS of `sms_parts` parts to `texted` neighbours costs.
#[must_use]
pub fn cost_of(sms_parts: u32, texted: usize) -> u32 {
    sms_parts.saturating_mul(texted.min(u32::MAX as usize) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CommunityId, TimeZoneId};

    fn community(id: &str, own: Option<u32>) -> Community {
        Community {
            id: CommunityId::parse(id).unwrap(),
            name: id.to_owned(),
            town: "Bellerive".to_owned(),
            time_zone: TimeZoneId::paris(),
            sms_budget: own,
        }
    }

    const BUDGETS: SmsBudgets = SmsBudgets { monthly_parts: 100, daily_parts: 150 };

    fn run(asks: &[Ask<'_>], still_texted: bool, day_spent: u32) -> (Vec<Plan>, Vec<Charge>) {
        plan(asks, still_texted, day_spent, &BUDGETS, |_| "2026-12".to_owned(), "2026-12-03")
    }

    #[test]
    fn an_alert_within_the_month_is_texted_and_counted_on_the_month_and_the_day() {
        let tilleuls = community("tilleuls", None);
        let (plans, charges) = run(&[Ask { community: &tilleuls, parts: 40, month_spent: 60 }], false, 10);
        assert_eq!(plans, [Plan { sms_parts: 40, withheld: None }]);
        assert_eq!(
            charges,
            [
                Charge {
                    key: SpendKey::Month { community: tilleuls.id.clone(), month: "2026-12".into() },
                    parts: 40,
                    up_to: Some(100),
                },
                Charge { key: SpendKey::Day("2026-12-03".into()), parts: 40, up_to: Some(150) },
            ]
        );
    }

    #[test]
    fn past_the_month_a_residents_alert_goes_without_sms_and_costs_nothing() {
        let tilleuls = community("tilleuls", None);
        let (plans, charges) = run(&[Ask { community: &tilleuls, parts: 41, month_spent: 60 }], false, 0);
        assert_eq!(plans, [Plan { sms_parts: 0, withheld: Some(SmsWithheld::MonthlyBudget) }]);
        assert!(charges.is_empty());
        // A community's own budget stands for the default.
        let big = community("big", Some(500));
        let (plans, _) = run(&[Ask { community: &big, parts: 41, month_spent: 60 }], false, 0);
        assert_eq!(plans[0].withheld, None);
    }

    #[test]
    fn police_and_danger_pass_the_month_counted_but_never_the_day() {
        let tilleuls = community("tilleuls", None);
        let (plans, charges) = run(&[Ask { community: &tilleuls, parts: 80, month_spent: 90 }], true, 0);
        assert_eq!(plans, [Plan { sms_parts: 80, withheld: None }]);
        assert_eq!(charges[0].up_to, None, "counted whatever the month holds");
        let (plans, charges) = run(&[Ask { community: &tilleuls, parts: 80, month_spent: 0 }], true, 71);
        assert_eq!(plans, [Plan { sms_parts: 0, withheld: Some(SmsWithheld::DailyCeiling) }]);
        assert!(charges.is_empty());
        assert!(past_budget_still_texted(AlertSource::Police, None));
        assert!(past_budget_still_texted(AlertSource::Web, Some(Category::Danger)));
        assert!(!past_budget_still_texted(AlertSource::Sms, None));
        assert!(!past_budget_still_texted(AlertSource::Web, Some(Category::Animal)));
    }

    #[test]
    fn the_alerts_of_one_raise_share_the_day() {
        let (a, b, c) = (community("a", None), community("b", None), community("c", None));
        let asks = [
            Ask { community: &a, parts: 70, month_spent: 0 },
            Ask { community: &b, parts: 70, month_spent: 0 },
            Ask { community: &c, parts: 10, month_spent: 0 },
        ];
        let (plans, charges) = run(&asks, true, 0);
        let withheld: Vec<_> = plans.iter().map(|p| p.withheld).collect();
        assert_eq!(withheld, [None, None, None]);
        assert_eq!(charges.last().unwrap().parts, 150);
        let (plans, charges) = run(&asks, true, 20);
        let withheld: Vec<_> = plans.iter().map(|p| p.withheld).collect();
        assert_eq!(withheld, [None, Some(SmsWithheld::DailyCeiling), None]);
        assert_eq!(
            charges.last().unwrap(),
            &Charge { key: SpendKey::Day("2026-12-03".into()), parts: 80, up_to: Some(150) }
        );
    }

    #[test]
    fn an_alert_nobody_gets_by_sms_costs_nothing() {
        let a = community("a", Some(0));
        let (plans, charges) = run(&[Ask { community: &a, parts: 0, month_spent: 0 }], false, 150);
        assert_eq!(plans, [Plan { sms_parts: 0, withheld: None }]);
        assert!(charges.is_empty());
    }

    #[test]
    fn a_referent_types_a_whole_number_of_parts_or_nothing() {
        assert_eq!(parse_own_budget(""), Ok(None));
        assert_eq!(parse_own_budget("  "), Ok(None));
        assert_eq!(parse_own_budget("2 000"), Ok(Some(2000)));
        assert_eq!(parse_own_budget("0"), Ok(Some(0)));
        assert_eq!(parse_own_budget("1000000"), Ok(Some(MAX_OWN_BUDGET)));
        for bad in ["1000001", "-5", "+5", "12.5", "mille", "99999999999"] {
            assert_eq!(parse_own_budget(bad), Err(InvalidBudget), "{bad}");
        }
    }

    #[test]
    fn months_are_the_communitys_and_days_utc() {
        // 2026-12-31T23:30Z is already January in Paris.
        let at = 1_798_759_800_000;
        assert_eq!(month_of(&community("a", None), at), "2027-01");
        assert_eq!(day_of(at), "2026-12-31");
    }
}
