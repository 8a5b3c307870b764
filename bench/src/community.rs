//! The emulated AWS of the fan-out benchmarks: a private moto server with the tables of
//! `template.yaml`, a generated community registered through the same path as an import, and
//! one alert recorded through the same path as an inbound SMS.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use futures::{StreamExt, TryStreamExt};
use infra::moto::Moto;
use vigie::adapters::{DynamoStore, now_ms};
use vigie::config::Config;
use vigie::domain::{
    AlertId, AlertSource, AlertText, Community, CommunityId, Email, FirstName, LastName, Member, MemberId,
    PhoneNumber, Role, TimeZoneId, UnsubscribeToken,
};
use vigie::model::{Alert, InboundMessageId};
use vigie::ports::{AlertLog, Registry};

use crate::process::{PUBLIC_BASE_URL, SENDER_EMAIL, SHARED_NUMBER};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A moto server with vigie's tables and the SES sender identity.
pub struct Emulator {
    pub moto: Moto,
    pub sdk: SdkConfig,
    /// The functions' settings (`MEMBERS_TABLE`...), as the environment gives them.
    pub env: BTreeMap<String, String>,
    pub config: Config,
    pub store: DynamoStore,
}

impl Emulator {
    /// `settings` are extra function settings (`FANOUT_CONCURRENCY`...) on top of the defaults.
    pub async fn start(settings: &BTreeMap<String, String>) -> Result<Self, BoxError> {
        let moto = Moto::start()?;
        let sdk = moto.sdk_config().await;
        let yaml = std::fs::read_to_string(infra::template::workspace_template())?;
        let tables =
            infra::template::create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &yaml, "bench").await?;
        infra::stack::create_sender_identity(&aws_sdk_sesv2::Client::new(&sdk), SENDER_EMAIL).await?;
        let mut env = BTreeMap::new();
        env.insert("MEMBERS_TABLE".to_owned(), tables.members.clone());
        env.insert("ALERTS_TABLE".to_owned(), tables.alerts.clone());
        env.insert("LEDGER_TABLE".to_owned(), tables.ledger.clone());
        env.insert("SMS_SHARED_NUMBER".to_owned(), SHARED_NUMBER.to_owned());
        env.insert("SENDER_EMAIL".to_owned(), SENDER_EMAIL.to_owned());
        env.insert("PUBLIC_BASE_URL".to_owned(), PUBLIC_BASE_URL.to_owned());
        env.extend(settings.iter().map(|(k, v)| (k.clone(), v.clone())));
        let config = Config::from_lookup(|name| env.get(name).cloned())?;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.tables.clone());
        Ok(Self { moto, sdk, env, config, store })
    }
}

/// A generated community.
#[derive(Clone, Debug)]
pub struct Generated {
    pub community: Community,
    pub members: usize,
    pub mix: Mix,
    /// The member who raises the alert (the first one; has a number).
    pub sender: Member,
    /// Deliveries an alert from `sender` makes: SMS and emails to the others.
    pub sms_deliveries: usize,
    pub email_deliveries: usize,
}

const FIRST_NAMES: &[&str] = &[
    "Marie",
    "Karim",
    "Jeanne",
    "Lucas",
    "Chloé",
    "Paul",
    "Inès",
    "Gérard",
    "Sophie",
    "Nathalie",
    "Éric",
    "Fatima",
    "Hélène",
    "Mathieu",
    "Léa",
    "Youssef",
    "Anaïs",
    "François",
    "Camille",
    "Noémie",
];
const LAST_NAMES: &[&str] = &[
    "Lefèvre",
    "Martin",
    "Bernard",
    "Dubois",
    "Moreau",
    "Laurent",
    "Girard",
    "Roux",
    "Benali",
    "Fournier",
    "N'Diaye",
    "Lambert",
    "Bonnet",
    "François",
    "Mercier",
    "Da Silva",
];

/// The number of member `i` (French mobiles, none of moto's opted-out numbers).
pub fn phone_of(i: usize) -> Result<PhoneNumber, BoxError> {
    Ok(PhoneNumber::parse(&format!("+336{:08}", 10_000_000 + i))?)
}

pub fn email_of(community: &CommunityId, i: usize) -> Result<Email, BoxError> {
    Ok(Email::parse(&format!("voisin{i}@{}.example.org", community.as_str()))?)
}

/// Which members have each channel on: a share of them, spread evenly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    /// Members with a number and SMS alerts on (the others have no number).
    pub sms_percent: usize,
    /// Members with email alerts on (everyone has an address).
    pub email_percent: usize,
}

impl Mix {
    pub fn sms(&self, i: usize) -> bool {
        i * self.sms_percent % 100 < self.sms_percent
    }

    /// Spread differently from SMS, so that a small share of each does not pick the same members.
    pub fn email(&self, i: usize) -> bool {
        (i + 1) * self.email_percent % 100 < self.email_percent
    }
}

/// Member `i` of a generated community: everyone has an address, those with SMS alerts on have
/// a number (`phone_of(number)`: numbers are unique across communities).
fn member(community: &CommunityId, i: usize, number: usize, mix: Mix) -> Result<Member, BoxError> {
    let sms = mix.sms(i) || i == 0;
    Ok(Member {
        id: MemberId::new(),
        communities: vec![community.clone()],
        first_name: FirstName::parse(FIRST_NAMES[i % FIRST_NAMES.len()])?,
        last_name: LastName::parse(LAST_NAMES[(i / FIRST_NAMES.len()) % LAST_NAMES.len()])?,
        email: Some(email_of(community, i)?),
        phone: if sms { Some(phone_of(number)?) } else { None },
        hide_phone: i.is_multiple_of(3),
        phone_confirmed: true,
        phone_consent: None,
        sms_alerts: sms,
        email_alerts: mix.email(i),
        quiet_hours: false,
        role: if i % 500 == 1 { Role::Referent } else { Role::Resident },
        unsubscribe_token: UnsubscribeToken::generate(),
        email_problem: None,
        sms_problem: None,
        stands_for: None,
        town: None,
    })
}

/// Registers a community of `members` (registrations in parallel, each the same conditional
/// transaction as an import's).
pub async fn populate(
    store: &DynamoStore,
    id: &str,
    members: usize,
    mix: Mix,
    concurrency: usize,
) -> Result<Generated, BoxError> {
    populate_numbered(store, id, members, 0, mix, concurrency).await
}

/// [`populate`], the members' numbers from `phone_of(first_number)` on.
pub async fn populate_numbered(
    store: &DynamoStore,
    id: &str,
    members: usize,
    first_number: usize,
    mix: Mix,
    concurrency: usize,
) -> Result<Generated, BoxError> {
    let community_id = CommunityId::parse(id)?;
    let community = Community {
        id: community_id.clone(),
        name: format!("Quartier {id}"),
        town: "Bellerive".to_owned(),
        time_zone: TimeZoneId::default(),
        sms_budget: None,
    };
    store.put_community(&community).await?;
    let sender = member(&community_id, 0, first_number, mix)?;
    let (mut sms_deliveries, mut email_deliveries) = (0, 0);
    let mut all = vec![sender.clone()];
    for i in 1..members {
        let m = member(&community_id, i, first_number + i, mix)?;
        sms_deliveries += usize::from(m.wants_sms().is_some());
        email_deliveries += usize::from(m.wants_email().is_some());
        all.push(m);
    }
    futures::stream::iter(all.into_iter().map(|m| async move { store.register(&m).await }))
        .buffer_unordered(concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(Generated { community, members, mix, sender, sms_deliveries, email_deliveries })
}

/// Records one alert from the community's sender, as `inbound-sms` does for a texted alert.
pub async fn raise_alert(store: &DynamoStore, community: &Generated, text: &str) -> Result<Alert, BoxError> {
    let id = AlertId::new();
    let inbound = InboundMessageId::parse(&format!("bench-{id}"))?;
    let alert = Alert {
        alert_id: id,
        community_id: community.community.id.clone(),
        community_name: community.community.name.clone(),
        sender_id: community.sender.id,
        sender_first_name: community.sender.first_name.clone(),
        source: AlertSource::Sms,
        text: AlertText::parse(text)?,
        created_at: now_ms(),
        inbound_message_id: Some(inbound.clone()),
        category: None,
        sms_parts: 0,
        sms_withheld: None,
        police_called: None,
        closed: None,
        withdrawn: None,
    };
    store.record_inbound_alerts(&inbound, std::slice::from_ref(&alert), None, &[], &[]).await?;
    Ok(alert)
}
