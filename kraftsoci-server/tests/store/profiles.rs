use kraftsoci_core::{
    BusinessDescription, BusinessProfile, Language, Sector, StoreError, TargetAudience, Tone,
    UserId,
};

use crate::fixtures::signed_up;
use crate::support::TestDb;

fn profile(description: &str) -> BusinessProfile {
    BusinessProfile {
        description: BusinessDescription::parse(description).unwrap(),
        target_audience: TargetAudience::parse("Neighbours on their way to work").unwrap(),
        tone: Tone::parse("warm").unwrap(),
        sector: Sector::parse("bakery").unwrap(),
        language: Language::parse("tr").unwrap(),
    }
}

pub async fn a_profile_is_created_replaced_and_kept_per_user(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let bob = signed_up(&store, "bob@example.com").await;
    assert_eq!(store.profiles.profile(ada.id).await.unwrap(), None);
    store
        .profiles
        .put_profile(ada.id, &profile("Simit since 1980"))
        .await
        .unwrap();
    store
        .profiles
        .put_profile(ada.id, &profile("Simit and pogaca since 1980"))
        .await
        .unwrap();
    assert_eq!(
        store.profiles.profile(ada.id).await.unwrap(),
        Some(profile("Simit and pogaca since 1980"))
    );
    assert_eq!(store.profiles.profile(bob.id).await.unwrap(), None);
    assert_eq!(
        store
            .profiles
            .put_profile(UserId::new(), &profile("nobody"))
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
}
