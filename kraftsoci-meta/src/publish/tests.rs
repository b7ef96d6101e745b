use super::*;

fn value<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn an_image_with_every_option_sends_every_documented_parameter() {
    let post = ImagePost {
        image_url: "https://cdn.example/a.jpg".into(),
        caption: Some("Fresh #simit & tea ☕\nsecond line".into()),
        alt_text: Some("Bread rings".into()),
        user_tags: vec![UserTag::at("@baker.one", 0.5, 0.8)],
        location_id: Some("110843418940484".into()),
        collaborators: vec!["friend_shop".into()],
    };
    let params = image_params(&post).unwrap();
    assert_eq!(
        value(&params, "caption"),
        Some("Fresh #simit & tea ☕\nsecond line")
    );
    assert_eq!(
        value(&params, "user_tags"),
        Some(r#"[{"username":"baker.one","x":0.5,"y":0.8}]"#)
    );
    assert_eq!(value(&params, "collaborators"), Some(r#"["friend_shop"]"#));
    assert_eq!(value(&params, "location_id"), Some("110843418940484"));
    assert_eq!(value(&params, "media_type"), None);
}

#[test]
fn image_tags_need_a_position_inside_the_image() {
    let mut post = ImagePost::new("https://cdn.example/a.jpg");
    post.user_tags = vec![UserTag::mention("someone")];
    assert!(image_params(&post).is_err());
    post.user_tags = vec![UserTag::at("someone", 1.2, 0.1)];
    assert!(image_params(&post).is_err());
    post.user_tags = vec![UserTag::at("someone", f64::NAN, 0.1)];
    assert!(image_params(&post).is_err());
}

#[test]
fn limits_are_checked_before_anything_is_sent() {
    let long = "a".repeat(MAX_CAPTION_CHARS + 1);
    assert!(image_params(&ImagePost::new("https://x.example/a.jpg").with_caption(long)).is_err());
    assert!(image_params(&ImagePost::new("ftp://x.example/a.jpg")).is_err());
    assert!(image_params(&ImagePost::new("not a url")).is_err());
    let mut post = ImagePost::new("https://x.example/a.jpg");
    post.collaborators = vec!["a".into(), "b".into(), "c".into(), "d".into()];
    assert!(image_params(&post).is_err());
    let one = CarouselPost {
        items: vec![CarouselItem::Video {
            video_url: "https://x.example/v.mp4".into(),
        }],
        ..CarouselPost::default()
    };
    assert!(carousel_params(&one).is_err());
}

#[test]
fn carousel_children_never_carry_a_caption() {
    let params = carousel_item_params(&CarouselItem::Image {
        image_url: "https://x.example/a.jpg".into(),
        alt_text: None,
        user_tags: vec![],
    })
    .unwrap();
    assert_eq!(value(&params, "is_carousel_item"), Some("true"));
    assert_eq!(value(&params, "caption"), None);
}

#[test]
fn reels_send_the_thumb_offset_in_milliseconds() {
    let params = reel_params(&ReelPost {
        video_url: "https://x.example/v.mp4".into(),
        thumb_offset: Some(Duration::from_millis(2500)),
        share_to_feed: Some(true),
        ..ReelPost::default()
    })
    .unwrap();
    assert_eq!(value(&params, "media_type"), Some("REELS"));
    assert_eq!(value(&params, "thumb_offset"), Some("2500"));
    assert_eq!(value(&params, "share_to_feed"), Some("true"));
}

#[test]
fn an_error_status_with_a_known_subcode_gets_its_meaning_and_kind() {
    let error = container_failed(&ContainerId::new("c1"), "Error: 2207026");
    assert_eq!(
        error.kind(),
        ErrorKind::InvalidMedia {
            reason: "unsupported video format (MOV or MP4 only)".into()
        }
    );
    let error = container_failed(&ContainerId::new("c1"), "Something odd");
    assert_eq!(
        error.kind(),
        ErrorKind::InvalidMedia {
            reason: "Something odd".into()
        }
    );
}

#[test]
fn ids_are_read_as_strings_and_missing_ids_are_unexpected() {
    let ok = IdResponse {
        id: Some(Value::String("17895695668004550".into())),
        uri: None,
    };
    assert_eq!(id_of("x", ok).unwrap(), "17895695668004550");
    let number = IdResponse {
        id: Some(serde_json::json!(17895695668004550_u64)),
        uri: None,
    };
    assert_eq!(id_of("x", number).unwrap(), "17895695668004550");
    assert!(
        id_of(
            "x",
            IdResponse {
                id: None,
                uri: None
            }
        )
        .is_err()
    );
}
