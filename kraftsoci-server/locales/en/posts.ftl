# Posts: the list, the topic form and the preview with Publish and Schedule.

post-status-ready = Ready to review
post-status-approved = Approved
post-status-scheduled = Scheduled
post-status-publishing = Publishing
post-status-published = Published
post-status-failed = Failed
post-status-withdrawn = Withdrawn
post-status-needs-reconnect = Needs a reconnect

posts-title = Posts
posts-heading = Your posts
posts-new = New post
posts-back = ← All posts
posts-filter-label = Show posts by status
posts-filter-all = All
posts-created-on = Written { $date }
posts-scheduled-for = Scheduled for { $date }
posts-published-on = Published { $date }
posts-no-topic = Untitled post
posts-older = Older posts →
posts-empty-heading = No posts yet
posts-empty-body = Describe what you want to post about, and kraftsoci writes the caption, hashtags, alt text and an image. Nothing goes to Instagram until you click Publish.
posts-empty-filtered-heading = No posts with this status
posts-empty-filtered-body = None of your posts has this status right now.
posts-show-all = Show all posts
posts-deleted-heading = Post deleted
posts-deleted-body = Our copy of the post and its image are deleted. A post already on Instagram stays there until you remove it in Instagram.

new-post-title = New post
new-post-heading = Write a new post
new-post-lead = Tell us what the post is about. We write it from your business profile; you see it exactly as Instagram will show it before anything is published.
new-post-topic-label = What should the post be about?
new-post-topic-hint = For example: "Our new pistachio baklava, only this weekend". 3 to 500 characters.
new-post-topic-invalid = Describe the topic in 3 to 500 characters.
new-post-with-image = Also create an image (Instagram needs one to publish)
new-post-duration = Writing a post takes about 20 seconds. Please keep this page open until the preview appears.
new-post-busy = Writing your post…
new-post-submit = Write the post
new-post-failed-heading = The post was not written
new-post-quota =
    { $limit ->
        [one] Your plan includes one post a month and it is used. Upgrade your plan in Billing, or wait for next month.
       *[other] Your plan includes { $limit } posts a month and they are used. Upgrade your plan in Billing, or wait for next month.
    }
new-post-subscription = Your subscription is not active, so no posts can be written. Check your plan in Billing.
new-post-restricted = You paused AI writing in the privacy centre. Resume it there to write posts again.
new-post-profile-required = We need your business profile to write posts for you. Fill it in first.
new-post-flagged = The topic or the post written from it did not pass the content check. Please try a different topic.
new-post-refused = The writing service declined this topic. Please describe it differently.
new-post-generator = The writing service did not answer properly. Nothing was charged; please try again in a minute.
new-post-try-later = Something went wrong on our side. Nothing was charged; please try again later.

preview-title = Post preview
preview-heading = Your post
preview-topic = Topic:
preview-sandbox = Sandbox mode: this post is written offline and publishing only pretends. Nothing reaches Instagram.
preview-as-instagram = As Instagram will show it
preview-no-account = Your Instagram account
preview-no-image = This post has no image. Instagram needs one to publish.
preview-more = more
preview-alt-label = Alt text
preview-alt-hint = Describes the image for people who use a screen reader. Up to 1,000 characters.
preview-alt-none = None
preview-alt-invalid = The alt text can be up to 1,000 characters.
preview-hashtags-label = Hashtags
preview-hashtag-count-label = Hashtag count
preview-generating-placeholder = The post appears here as soon as it is ready.
preview-hashtags-hint = Separated by spaces, with or without #. Up to 30.
preview-hashtags-invalid = Each hashtag is one word of letters, numbers or _ (up to 30 hashtags).
preview-caption-label = Caption
preview-caption-invalid = The caption can be up to 2,200 characters, hashtags included.
preview-account-label = Instagram account

preview-publish-heading = Publish
preview-publish-body = Publishing sends exactly the post on this page, as it is shown, to the account named above it.
preview-connect-first = Connect your Instagram account first; then you can publish this post.
preview-publish-now = Publish now
preview-schedule-label = Or choose a time
preview-schedule-placeholder = DD/MM/YYYY HH:MM
preview-schedule-hint = Day, month, year and time, in your time zone ({ $zone }). You can withdraw a scheduled post until its time comes.
preview-schedule = Schedule
preview-schedule-required = Choose a date and time to schedule the post.
preview-schedule-invalid = Enter a date and time as DD/MM/YYYY HH:MM, for example 24/12/2026 09:30.
preview-schedule-past = Choose a time in the future.

preview-receipt-heading = Your approval
preview-receipt-when = Approved
preview-receipt-where = Account
preview-receipt-schedule = Publishing time
preview-receipt-now = As soon as possible
preview-receipt-what = Fingerprint of the approved content
preview-receipt-hint = We keep this record as proof of what you approved. Any change to the post voids it.

preview-progress-heading = Publishing
preview-progress-body = Your post is on its way to Instagram. This page shows the result when it is done.
preview-progress-live = The page refreshes by itself while the post is being published.
preview-progress-reload = Refresh the status
preview-published-heading = Published on Instagram
preview-published-on = Published { $date }.
preview-permalink = View on Instagram
preview-failed-heading = Publishing failed
preview-failed-retryable = Instagram did not accept the post this time. You can publish it again.
preview-failed-final = Instagram refused the post. Change it (for example the caption or the image) and publish again.

preview-withdraw-heading = Changed your mind?
preview-withdraw-body = Withdrawing cancels the approval. Nothing is published and the post is kept here.
preview-withdraw = Withdraw approval

preview-edit-heading = Edit the post
preview-edit-voids = Saving a change cancels your approval: you then see the new version and approve it again.
preview-save = Save changes

preview-more-heading = More
preview-write-again = Write another post on this topic
preview-delete = Delete this post
preview-delete-heading = Delete this post?
preview-delete-body = Our copy of the post and its image are deleted for good. A post already on Instagram stays there.
preview-delete-confirm = Yes, delete it
preview-delete-cancel = Keep it

preview-saved-heading = Changes saved
preview-saved-body = This is the new version. Check it before you publish.
preview-approved-heading = Approved
preview-approved-body = Your post is being published to Instagram.
preview-scheduled-heading = Scheduled
preview-scheduled-body = Your post will be published at the time you chose. You can withdraw it until then.
preview-withdrawn-heading = Approval withdrawn
preview-withdrawn-body = Nothing will be published. You can edit the post and approve it again.
preview-generated-heading = Your post is ready
preview-generated-body = Check the caption, hashtags, alt text and image. Nothing is published until you click Publish.

preview-refused-heading = Nothing was done
preview-stale-heading = The post changed since you opened this page
preview-stale-body = It was edited in another tab or window, so nothing was published or saved. Below is the post as it is now: check it and click again.
preview-stale-kept = What you typed is still in the form.
preview-restricted = You paused publishing in the privacy centre. Resume it there to publish.
preview-reconnect = The Instagram account needs to be connected again before anything is published to it.
preview-daily-limit = Instagram allows { $limit } posts per account in 24 hours, and that many are already published or scheduled around this time. Choose another time.
preview-publishing-started = Publishing has already started, so the post can no longer change.
preview-changed-meanwhile = The post changed while we were saving. Here it is as it is now; please try again.
preview-too-long = The caption with its hashtags is longer than Instagram allows. Shorten it and try again.
preview-image-unusable = The post's image cannot be published. Write the post again to get a new image.
preview-try-later = Something went wrong on our side and nothing was done. Please try again later.

posts-not-found-heading = Post not found
posts-not-found-body = There is no such post among yours. It may have been deleted.
posts-unavailable-heading = Your posts could not be loaded
posts-unavailable-body = Something went wrong on our side. Please try again in a moment.

# Generation in the background (issue 15): live progress and regenerate
post-status-generating = Being written
post-status-generation-failed = Generation failed
post-status-other = Other
generation-step-queued = Waiting for a writer…
generation-step-writing = Writing the caption and hashtags…
generation-step-moderating = Checking the text…
generation-step-drawing = Drawing the image…
generation-step-ready = Ready
generation-step-failed = Failed
preview-generating-heading = Your post is being written
preview-generating-body = This usually takes under a minute. You can leave this page; the post waits for you in your list.
preview-generating-reload = Refresh the progress
preview-generation-failed-heading = The post could not be generated
preview-generation-failed-retryable = Something went wrong while writing this post. Try again: it counts against your quota only when it succeeds.
preview-generation-failed-final = This topic could not be written about (it was refused or flagged). Try again with another topic.
preview-regenerate-heading = Not quite right?
preview-regenerate-body = Write a new caption or draw a new image; the other part stays as it is. Any approval is then void: you review and click Publish again.
preview-regenerate-caption = Regenerate caption
preview-regenerate-image = Regenerate image
preview-regenerate-failed = The post could not be sent back for generation. Reload the page and try again.
