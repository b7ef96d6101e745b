# /data-deletion: what closing the account does, and the form that does it (P34).

deletion-title = Delete your account
deletion-heading = Delete your kraftsoci account
deletion-lead = Closing your account cannot be undone. This is what happens:
deletion-at-once-heading = At once
deletion-at-once-signed-out = You are signed out on every device.
deletion-at-once-tokens = Your Instagram connection tokens are deleted.
deletion-at-once-withdrawn = Posts waiting to be published are withdrawn. Nothing is published after that.
deletion-later-heading = Within 30 days
deletion-later-erased = Every piece of data we hold about you is permanently deleted: your account, business profile, generated posts and images, consent records, usage logs and requests.
deletion-later-payments = Only payment records are kept, without your name or email, for 10 years as the law requires.
deletion-later-instagram = Posts already on Instagram stay there; delete them in Instagram.
deletion-copy-first = Want a copy first? Download your data in the app (Settings → Export) before you close the account.
deletion-facebook = If you use Facebook, removing kraftsoci under Settings → Apps and Websites also asks us to delete your data.
deletion-form-heading = Close your account
deletion-email-label = Email
deletion-password-label = Password
deletion-password-hint = We ask for your password so that nobody else can close your account.
deletion-submit = Close my account and delete my data
deletion-email-required = Enter the email address of your account.
deletion-email-invalid = This does not look like an email address. Write it like name@example.com.
deletion-password-required = Enter your password.
deletion-failed-title = Account not closed
deletion-failed-heading = Your account was not closed
deletion-failed-credentials = The email or password is not correct. Nothing was deleted.
deletion-failed-rate-limited =
    Too many attempts. Nothing was deleted. Please try again in { $minutes ->
        [one] a minute
       *[other] { $minutes } minutes
    }.
deletion-failed-internal = Something went wrong on our side. Nothing was deleted; please try again later.
deletion-closed-title = Account closed
deletion-closed-heading = Your account is closed
deletion-closed-body = You have been signed out everywhere and nothing will be published any more.
deletion-closed-purge = All your data, payment records excepted, will be permanently deleted by { $date }.

# The controller and contact line (issue 14).
deletion-contact-lead = Questions about deleting your data, or a request you cannot make here? Write to
