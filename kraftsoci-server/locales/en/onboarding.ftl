# Onboarding: the business profile, then connecting Instagram (P02, P03, P08).

onboarding-steps-label = Getting started
onboarding-step-profile = 1. Your business
onboarding-step-instagram = 2. Instagram
onboarding-profile-title = Describe your business
onboarding-profile-heading = Tell us about your business
onboarding-profile-lead = Posts are written from this description, in your voice, for your customers. You can change it at any time in Settings.
onboarding-description-label = What does your business do?
onboarding-description-hint = A few sentences: what you make or sell, what makes it special, where you are.
onboarding-audience-label = Who are your customers?
onboarding-audience-hint = For example: families in Kadıköy, office workers looking for a quick breakfast.
onboarding-tone-label = How should the posts sound?
onboarding-tone-hint = For example: warm and playful, calm and professional.
onboarding-sector-label = Sector
onboarding-language-label = Language of the posts
onboarding-profile-submit = Save and continue
onboarding-profile-saved = Your business profile was saved.
onboarding-description-required = Describe your business in a few sentences.
onboarding-description-invalid = The description can be at most 2,000 characters.
onboarding-audience-required = Say who your customers are.
onboarding-audience-invalid = The audience can be at most 500 characters.
onboarding-tone-required = Say how the posts should sound.
onboarding-tone-invalid = The tone can be at most 80 characters.
onboarding-language-invalid = Choose a language from the list.
onboarding-instagram-title = Connect Instagram
onboarding-instagram-heading = Connect your Instagram account
onboarding-instagram-lead = kraftsoci publishes a post only when you click Publish. To do that, Instagram needs your permission, given through Facebook Login.
onboarding-instagram-needs = You need an Instagram business or creator account linked to a Facebook Page.
onboarding-instagram-permissions = We ask to see your Pages and their Instagram accounts and to publish the posts you approve. We never post on our own, and you can disconnect at any time.
onboarding-instagram-connect = Continue with Facebook
onboarding-instagram-sandbox = Sandbox mode: nothing reaches Instagram. Connecting creates a practice account, and posts “published” to it stay on this server.
onboarding-instagram-sandbox-connect = Connect the sandbox account
onboarding-instagram-connected-heading = Connected accounts
onboarding-instagram-none = No account is connected yet.
onboarding-instagram-sandbox-badge = Sandbox
onboarding-instagram-needs-reconnect = Needs reconnecting
onboarding-instagram-active = Connected
onboarding-instagram-done = Go to your posts
onboarding-instagram-skip = Connect later
onboarding-connected-heading =
    { $count ->
        [one] Your Instagram account is connected
       *[other] { $count } Instagram accounts are connected
    }
onboarding-connected-body = You can now make posts and publish them with a click.
onboarding-choose-heading = Which accounts should kraftsoci publish to?
onboarding-choose-body = Your login gave access to several Instagram accounts. Keep the ones you want to use; the others are disconnected and their access is deleted.
onboarding-choose-submit = Keep the selected accounts
onboarding-choose-none = Keep at least one account, or disconnect them all in Settings.
onboarding-pages-without =
    { $count ->
        [one] One of your Facebook Pages has no Instagram business account linked to it.
       *[other] { $count } of your Facebook Pages have no Instagram business account linked to them.
    } To use it, link an Instagram professional account to the Page in Instagram's settings and connect again.
onboarding-error-access-denied-heading = Instagram was not connected
onboarding-error-access-denied = You did not give kraftsoci access, so nothing was connected. To publish with kraftsoci, connect again and allow access.
onboarding-error-permissions-heading = Some permissions are missing
onboarding-error-permissions = kraftsoci needs every permission it asks for to publish your posts: seeing your Pages, their Instagram accounts and publishing content. Connect again and keep every box ticked.
onboarding-error-not-business-heading = No Instagram business account was found
onboarding-error-not-business = kraftsoci can publish only to an Instagram business or creator account that is linked to a Facebook Page. In the Instagram app, go to Settings → Account type and tools, switch to a professional account, link it to your Facebook Page, then connect again.
onboarding-error-expired-heading = The connection took too long
onboarding-error-expired = The login link expired or was already used. Nothing was connected; start again.
onboarding-error-failed-heading = Facebook Login did not complete
onboarding-error-failed = Nothing was connected. Please try again.
onboarding-error-unavailable-heading = Instagram could not be reached
onboarding-error-unavailable = Nothing was connected. Please try again in a moment.
onboarding-error-unconfigured = Connecting Instagram is not set up on this server yet.
onboarding-try-again = Try again
