//! The form parameters of each container kind, checked before anything is sent.

use super::*;

pub(super) fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

// ----- parameters and their checks -----

pub(super) fn invalid(message: impl Into<String>) -> MetaError {
    MetaError::InvalidInput(message.into())
}

pub(super) fn check_url(what: &str, value: &str) -> Result<String, MetaError> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(value.to_owned())
        }
        _ => Err(invalid(format!("{what} must be a public http(s) url"))),
    }
}

pub(super) fn push_caption(params: &mut Params, caption: Option<&String>) -> Result<(), MetaError> {
    if let Some(caption) = caption {
        if caption.chars().count() > MAX_CAPTION_CHARS {
            return Err(invalid(format!(
                "caption is longer than {MAX_CAPTION_CHARS} characters"
            )));
        }
        params.push(("caption", caption.clone()));
    }
    Ok(())
}

pub(super) fn push_alt_text(
    params: &mut Params,
    alt_text: Option<&String>,
) -> Result<(), MetaError> {
    if let Some(alt_text) = alt_text {
        if alt_text.chars().count() > MAX_ALT_TEXT_CHARS {
            return Err(invalid(format!(
                "alt text is longer than {MAX_ALT_TEXT_CHARS} characters"
            )));
        }
        params.push(("alt_text", alt_text.clone()));
    }
    Ok(())
}

pub(super) fn push_location(
    params: &mut Params,
    location: Option<&String>,
) -> Result<(), MetaError> {
    if let Some(location) = location {
        params.push((
            "location_id",
            checked_id("location id", location)?.to_owned(),
        ));
    }
    Ok(())
}

pub(super) fn push_collaborators(
    params: &mut Params,
    collaborators: &[String],
) -> Result<(), MetaError> {
    if collaborators.is_empty() {
        return Ok(());
    }
    if collaborators.len() > MAX_COLLABORATORS {
        return Err(invalid(format!(
            "at most {MAX_COLLABORATORS} collaborators are allowed"
        )));
    }
    let names = collaborators
        .iter()
        .map(|name| check_username(name))
        .collect::<Result<Vec<_>, _>>()?;
    params.push(("collaborators", json_text(&names)?));
    Ok(())
}

pub(super) fn check_username(name: &str) -> Result<String, MetaError> {
    let name = name.trim().trim_start_matches('@');
    let valid = !name.is_empty()
        && name.len() <= 30
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(invalid(
            "usernames are 1-30 letters, digits, dots or underscores",
        ))
    }
}

pub(crate) fn push_user_tags(
    params: &mut Params,
    tags: &[UserTag],
    position_required: bool,
) -> Result<(), MetaError> {
    if tags.is_empty() {
        return Ok(());
    }
    let mut checked = Vec::with_capacity(tags.len());
    for tag in tags {
        let username = check_username(&tag.username)?;
        for coordinate in [tag.x, tag.y].into_iter().flatten() {
            if !(coordinate.is_finite() && (0.0..=1.0).contains(&coordinate)) {
                return Err(invalid("user tag positions are between 0.0 and 1.0"));
            }
        }
        if tag.x.is_some() != tag.y.is_some() || (position_required && tag.x.is_none()) {
            return Err(invalid("user tags on images need both x and y"));
        }
        checked.push(UserTag {
            username,
            x: tag.x,
            y: tag.y,
        });
    }
    params.push(("user_tags", json_text(&checked)?));
    Ok(())
}

pub(super) fn json_text<T: Serialize>(value: &T) -> Result<String, MetaError> {
    serde_json::to_string(value).map_err(|e| invalid(format!("cannot encode parameter: {e}")))
}

pub(super) fn image_params(post: &ImagePost) -> Result<Params, MetaError> {
    let mut params = vec![("image_url", check_url("image_url", &post.image_url)?)];
    push_caption(&mut params, post.caption.as_ref())?;
    push_alt_text(&mut params, post.alt_text.as_ref())?;
    push_user_tags(&mut params, &post.user_tags, true)?;
    push_location(&mut params, post.location_id.as_ref())?;
    push_collaborators(&mut params, &post.collaborators)?;
    Ok(params)
}

pub(super) fn carousel_params(post: &CarouselPost) -> Result<Params, MetaError> {
    let n = post.items.len();
    if !(MIN_CAROUSEL_ITEMS..=MAX_CAROUSEL_ITEMS).contains(&n) {
        return Err(invalid(format!(
            "a carousel needs {MIN_CAROUSEL_ITEMS} to {MAX_CAROUSEL_ITEMS} items, not {n}"
        )));
    }
    // Check every child before creating any, so bad input creates no orphan containers.
    for item in &post.items {
        carousel_item_params(item)?;
    }
    let mut params = vec![("media_type", "CAROUSEL".to_owned())];
    push_caption(&mut params, post.caption.as_ref())?;
    push_location(&mut params, post.location_id.as_ref())?;
    push_collaborators(&mut params, &post.collaborators)?;
    Ok(params)
}

pub(super) fn carousel_item_params(item: &CarouselItem) -> Result<Params, MetaError> {
    let mut params = vec![("is_carousel_item", "true".to_owned())];
    match item {
        CarouselItem::Image {
            image_url,
            alt_text,
            user_tags,
        } => {
            params.push(("image_url", check_url("image_url", image_url)?));
            push_alt_text(&mut params, alt_text.as_ref())?;
            push_user_tags(&mut params, user_tags, true)?;
        }
        CarouselItem::Video { video_url } => {
            // VIDEO is deprecated for feed posts but still the type of carousel video items.
            params.push(("media_type", "VIDEO".to_owned()));
            params.push(("video_url", check_url("video_url", video_url)?));
        }
    }
    Ok(params)
}

pub(super) fn reel_params(post: &ReelPost) -> Result<Params, MetaError> {
    let mut params = vec![
        ("media_type", "REELS".to_owned()),
        ("video_url", check_url("video_url", &post.video_url)?),
    ];
    push_reel_options(
        &mut params,
        &ReelOptions {
            caption: post.caption.as_ref(),
            cover_url: post.cover_url.as_ref(),
            thumb_offset: post.thumb_offset,
            share_to_feed: post.share_to_feed,
            audio_name: post.audio_name.as_ref(),
            location_id: post.location_id.as_ref(),
            collaborators: &post.collaborators,
        },
    )?;
    Ok(params)
}

/// The options of a reel, whichever way its video reaches Meta.
pub(crate) struct ReelOptions<'a> {
    pub(crate) caption: Option<&'a String>,
    pub(crate) cover_url: Option<&'a String>,
    pub(crate) thumb_offset: Option<Duration>,
    pub(crate) share_to_feed: Option<bool>,
    pub(crate) audio_name: Option<&'a String>,
    pub(crate) location_id: Option<&'a String>,
    pub(crate) collaborators: &'a [String],
}

pub(crate) fn push_reel_options(
    params: &mut Params,
    options: &ReelOptions<'_>,
) -> Result<(), MetaError> {
    push_caption(params, options.caption)?;
    if let Some(cover) = options.cover_url {
        params.push(("cover_url", check_url("cover_url", cover)?));
    }
    if let Some(offset) = options.thumb_offset {
        params.push(("thumb_offset", offset.as_millis().to_string()));
    }
    if let Some(share) = options.share_to_feed {
        params.push(("share_to_feed", share.to_string()));
    }
    if let Some(audio) = options.audio_name {
        params.push(("audio_name", audio.clone()));
    }
    push_location(params, options.location_id)?;
    push_collaborators(params, options.collaborators)?;
    Ok(())
}

pub(super) fn story_params(post: &StoryPost) -> Result<Params, MetaError> {
    let mut params = vec![("media_type", "STORIES".to_owned())];
    match &post.media {
        StoryMedia::Image { image_url } => {
            params.push(("image_url", check_url("image_url", image_url)?));
        }
        StoryMedia::Video { video_url } => {
            params.push(("video_url", check_url("video_url", video_url)?));
        }
    }
    push_user_tags(&mut params, &post.user_tags, false)?;
    Ok(params)
}
