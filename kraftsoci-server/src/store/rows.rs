//! Rows as both backends read them, and their checked conversion into domain types.
//!
//! A row that does not parse back into its domain type is [`StoreError::Corrupt`]: stored
//! data is parsed like any other input, never trusted.

use kraftsoci_core::ports::{
    Account, BillingAccount, BillingCustomerId, Connection, ConnectionStatus, InvoiceId, MediaKey,
    PaymentRecord, PaymentStatus, PostMedia, Preferences, PriceId, StoredImage, SubscriptionId,
    SubscriptionSnapshot, SubscriptionState, SubscriptionStatus, Theme,
};
use kraftsoci_core::{
    AltText, ApiKeyId, BusinessDescription, BusinessName, BusinessProfile, Caption, ConnectionId,
    ConsentReceipt, ContentHash, Email, GenerationStep, Hashtag, IgUserId, Language, MediaDigest,
    MediaKind, Objections, ParseError, PersonName, PostContent, PostId, PostSnapshot, PostStatus,
    PublishFailure, Restrictions, Sector, StoreError, TargetAudience, Tone, UserId,
};

use super::types::{Id, Ts};

fn corrupt(table: &str) -> impl Fn(ParseError) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{table}.{}: {}", e.field(), e.reason()))
}

/// The stored name of a theme.
pub(crate) fn theme_str(theme: Theme) -> &'static str {
    match theme {
        Theme::Light => "light",
        Theme::Dark => "dark",
        Theme::System => "system",
    }
}

fn parse_theme(value: &str) -> Result<Theme, ParseError> {
    match value {
        "light" => Ok(Theme::Light),
        "dark" => Ok(Theme::Dark),
        "system" => Ok(Theme::System),
        _ => Err(ParseError::new("theme", "unknown theme")),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: Id,
    name: String,
    email: String,
    business_name: String,
    sector: String,
    language: String,
    theme: String,
    restrict_generation: bool,
    restrict_publishing: bool,
    object_usage_log: bool,
    accepted_policy_version: String,
    created_at: Ts,
    closed_at: Option<Ts>,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;

    fn try_from(row: AccountRow) -> Result<Self, StoreError> {
        let bad = corrupt("users");
        Ok(Account {
            id: UserId::from_uuid(row.id.0),
            name: PersonName::parse(&row.name).map_err(&bad)?,
            email: Email::parse(&row.email).map_err(&bad)?,
            business_name: BusinessName::parse(&row.business_name).map_err(&bad)?,
            sector: Sector::parse(&row.sector).map_err(&bad)?,
            created_at: row.created_at.0,
            preferences: Preferences {
                language: Language::parse(&row.language).map_err(&bad)?,
                theme: parse_theme(&row.theme).map_err(&bad)?,
            },
            restrictions: Restrictions {
                generation: row.restrict_generation,
                publishing: row.restrict_publishing,
            },
            objections: Objections {
                usage_log: row.object_usage_log,
            },
            accepted_policy_version: row.accepted_policy_version,
            closed_at: row.closed_at.map(|t| t.0),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProfileRow {
    description: String,
    target_audience: String,
    tone: String,
    sector: String,
    language: String,
}

impl TryFrom<ProfileRow> for BusinessProfile {
    type Error = StoreError;

    fn try_from(row: ProfileRow) -> Result<Self, StoreError> {
        let bad = corrupt("profiles");
        Ok(BusinessProfile {
            description: BusinessDescription::parse(&row.description).map_err(&bad)?,
            target_audience: TargetAudience::parse(&row.target_audience).map_err(&bad)?,
            tone: Tone::parse(&row.tone).map_err(&bad)?,
            sector: Sector::parse(&row.sector).map_err(&bad)?,
            language: Language::parse(&row.language).map_err(&bad)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConnectionRow {
    id: Id,
    owner_id: Id,
    ig_user_id: String,
    page_name: String,
    status: String,
    token_expires_at: Option<Ts>,
    created_at: Ts,
}

impl TryFrom<ConnectionRow> for Connection {
    type Error = StoreError;

    fn try_from(row: ConnectionRow) -> Result<Self, StoreError> {
        let bad = corrupt("instagram_connections");
        Ok(Connection {
            id: ConnectionId::from_uuid(row.id.0),
            owner: UserId::from_uuid(row.owner_id.0),
            ig_user_id: IgUserId::parse(row.ig_user_id).map_err(&bad)?,
            page_name: row.page_name,
            status: ConnectionStatus::parse(&row.status).map_err(&bad)?,
            token_expires_at: row.token_expires_at.map(|t| t.0),
            created_at: row.created_at.0,
        })
    }
}

/// A post with its current consent receipt (`LEFT JOIN consent_receipts c`, columns `c_*`).
#[derive(sqlx::FromRow)]
pub(crate) struct PostRow {
    id: Id,
    owner_id: Id,
    caption: String,
    hashtags: String,
    alt_text: Option<String>,
    media_kind: String,
    media_digests: String,
    target_ig_user_id: Option<String>,
    status: String,
    created_at: Ts,
    updated_at: Ts,
    published_at: Option<Ts>,
    instagram_media_id: Option<String>,
    permalink: Option<String>,
    failure_code: Option<String>,
    failure_message: Option<String>,
    failure_retryable: Option<bool>,
    generation_step: Option<String>,
    c_user_id: Option<Id>,
    c_content_hash: Option<String>,
    c_target_ig_user_id: Option<String>,
    c_approved_at: Option<Ts>,
    c_ip: Option<String>,
    c_user_agent: Option<String>,
    c_scheduled_for: Option<Ts>,
    c_api_key_id: Option<Id>,
}

impl TryFrom<PostRow> for PostSnapshot {
    type Error = StoreError;

    fn try_from(row: PostRow) -> Result<Self, StoreError> {
        let bad = corrupt("posts");
        let json =
            |field: &str, e: serde_json::Error| StoreError::Corrupt(format!("posts.{field}: {e}"));
        let id = PostId::from_uuid(row.id.0);
        let hashtags: Vec<Hashtag> =
            serde_json::from_str(&row.hashtags).map_err(|e| json("hashtags", e))?;
        let media: Vec<MediaDigest> =
            serde_json::from_str(&row.media_digests).map_err(|e| json("media_digests", e))?;
        let content = PostContent {
            caption: Caption::parse(&row.caption).map_err(&bad)?,
            hashtags,
            alt_text: row
                .alt_text
                .as_deref()
                .map(AltText::parse)
                .transpose()
                .map_err(&bad)?,
            media_kind: MediaKind::parse(&row.media_kind).map_err(&bad)?,
            media,
            target: row
                .target_ig_user_id
                .map(IgUserId::parse)
                .transpose()
                .map_err(&bad)?,
        };
        let consent = match (
            row.c_user_id,
            row.c_content_hash,
            row.c_target_ig_user_id,
            row.c_approved_at,
        ) {
            (Some(user), Some(hash), Some(target), Some(approved_at)) => {
                let bad = corrupt("consent_receipts");
                Some(
                    ConsentReceipt::restore(
                        UserId::from_uuid(user.0),
                        id,
                        ContentHash::parse(&hash).map_err(&bad)?,
                        IgUserId::parse(target).map_err(&bad)?,
                        approved_at.0,
                        row.c_ip,
                        row.c_user_agent,
                        row.c_scheduled_for.map(|t| t.0),
                    )
                    .with_api_key(row.c_api_key_id.map(|id| ApiKeyId::from_uuid(id.0))),
                )
            }
            _ => None,
        };
        let failure = match (row.failure_code, row.failure_message, row.failure_retryable) {
            (Some(code), Some(message), Some(retryable)) => Some(PublishFailure {
                code,
                message,
                retryable,
            }),
            _ => None,
        };
        Ok(PostSnapshot {
            id,
            owner: UserId::from_uuid(row.owner_id.0),
            content,
            status: PostStatus::parse(&row.status).map_err(&bad)?,
            consent,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            published_at: row.published_at.map(|t| t.0),
            instagram_media_id: row.instagram_media_id,
            permalink: row.permalink,
            failure,
            generation_step: row
                .generation_step
                .as_deref()
                .map(GenerationStep::parse)
                .transpose()
                .map_err(&bad)?,
        })
    }
}

/// A user's Stripe customer and subscription state (`billing_customers`).
#[derive(sqlx::FromRow)]
pub(crate) struct BillingRow {
    user_id: Id,
    stripe_customer_id: String,
    subscription_id: Option<String>,
    status: String,
    price_id: Option<String>,
    current_period_start: Option<Ts>,
    current_period_end: Option<Ts>,
    cancel_at_period_end: bool,
    past_due_since: Option<Ts>,
    state_updated_at: Option<Ts>,
}

impl TryFrom<BillingRow> for BillingAccount {
    type Error = StoreError;

    fn try_from(row: BillingRow) -> Result<Self, StoreError> {
        let bad = corrupt("billing_customers");
        let customer = BillingCustomerId::parse(row.stripe_customer_id).map_err(&bad)?;
        let subscription = match row.subscription_id {
            None => None,
            Some(id) => Some(SubscriptionState {
                snapshot: SubscriptionSnapshot {
                    subscription_id: SubscriptionId::parse(id).map_err(&bad)?,
                    // Merging ignores views of other customers, so the stored subscription is
                    // always the account's customer's.
                    customer: customer.clone(),
                    status: SubscriptionStatus::parse(&row.status),
                    price_id: row.price_id.map(PriceId::parse).transpose().map_err(&bad)?,
                    current_period_start: row.current_period_start.map(|t| t.0),
                    current_period_end: row.current_period_end.map(|t| t.0),
                    cancel_at_period_end: row.cancel_at_period_end,
                    as_of: row
                        .state_updated_at
                        .ok_or_else(|| {
                            StoreError::Corrupt(
                                "billing_customers.state_updated_at: missing for a subscription"
                                    .to_owned(),
                            )
                        })?
                        .0,
                },
                past_due_since: row.past_due_since.map(|t| t.0),
            }),
        };
        Ok(BillingAccount {
            user: UserId::from_uuid(row.user_id.0),
            customer: Some(customer),
            subscription,
        })
    }
}

/// A payment record (`payment_records`).
#[derive(sqlx::FromRow)]
pub(crate) struct PaymentRow {
    invoice_id: String,
    user_id: Option<Id>,
    stripe_customer_id: String,
    subscription_id: Option<String>,
    status: String,
    amount: i64,
    amount_paid: i64,
    currency: String,
    period_start: Option<Ts>,
    period_end: Option<Ts>,
    paid_at: Option<Ts>,
    created_at: Ts,
    reported_at: Option<Ts>,
}

impl PaymentRow {
    /// The record; `owner` stands in for the user link when it was cut by an account purge.
    pub(crate) fn into_record(self, owner: UserId) -> Result<PaymentRecord, StoreError> {
        let bad = corrupt("payment_records");
        Ok(PaymentRecord {
            invoice_id: InvoiceId::parse(self.invoice_id).map_err(&bad)?,
            user: self.user_id.map_or(owner, |id| UserId::from_uuid(id.0)),
            customer: BillingCustomerId::parse(self.stripe_customer_id).map_err(&bad)?,
            subscription_id: self
                .subscription_id
                .map(SubscriptionId::parse)
                .transpose()
                .map_err(&bad)?,
            status: PaymentStatus::parse(&self.status).map_err(&bad)?,
            amount_due: self.amount,
            amount_paid: self.amount_paid,
            currency: self.currency,
            period_start: self.period_start.map(|t| t.0),
            period_end: self.period_end.map(|t| t.0),
            paid_at: self.paid_at.map(|t| t.0),
            as_of: self.reported_at.unwrap_or(self.created_at).0,
        })
    }
}

/// What is kept about a post besides its snapshot (`posts`: topic, image, sandbox flag).
#[derive(sqlx::FromRow)]
pub(crate) struct MediaRow {
    id: Id,
    topic: Option<String>,
    image_key: Option<String>,
    image_width: Option<i32>,
    image_height: Option<i32>,
    sandbox: bool,
}

impl TryFrom<MediaRow> for (PostId, PostMedia) {
    type Error = StoreError;

    fn try_from(row: MediaRow) -> Result<Self, StoreError> {
        let image = match (row.image_key, row.image_width, row.image_height) {
            (Some(key), Some(width), Some(height)) => Some(StoredImage {
                key: MediaKey::parse(&key)
                    .map_err(|e| StoreError::Corrupt(format!("posts.image_key: {}", e.reason())))?,
                width: u32::try_from(width)
                    .map_err(|_| StoreError::Corrupt("posts.image_width".to_owned()))?,
                height: u32::try_from(height)
                    .map_err(|_| StoreError::Corrupt("posts.image_height".to_owned()))?,
            }),
            _ => None,
        };
        Ok((
            PostId::from_uuid(row.id.0),
            PostMedia {
                topic: row.topic,
                image,
                sandbox: row.sandbox,
            },
        ))
    }
}
