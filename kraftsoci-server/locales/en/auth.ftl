# Sign up, sign in and sign out (P24, P35, P38).

signup-title = Create your account
signup-heading = Create your kraftsoci account
signup-lead = Tell us who you are and what your business is called. You describe the business in more detail on the next page.
signup-name-label = Your name
signup-email-label = Email
signup-password-label = Password
signup-password-hint = At least 8 characters. A few unrelated words are easy to remember and hard to guess.
signup-business-label = Business name
signup-sector-label = Sector
signup-sector-hint = For example bakery, florist, café or hair salon.
signup-age-label = I am 18 or older.
signup-age-hint = kraftsoci is only for adults.
signup-policy-heading = Privacy policy
signup-policy-version = Version { $version }, in effect since { $date }.
signup-policy-label = I have read and accept the privacy policy (version { $version }).
signup-policy-link = Read the privacy policy
signup-submit = Create account
signup-have-account = Already have an account?
signup-closed-heading = Sign-up is not open yet
signup-closed-body = No privacy policy has been published on this server, and nobody can sign up without one. The operator publishes it with “kraftsoci-server publish-policy”.
signup-name-required = Enter your name.
signup-name-invalid = Your name must be 1 to 100 characters.
signup-email-required = Enter your email address.
signup-email-invalid = This does not look like an email address. Write it like name@example.com.
signup-email-taken = An account with this email already exists. Sign in instead, or reset your password.
signup-password-required = Enter a password.
signup-password-short = The password needs at least 8 characters.
signup-password-long = The password can be at most 72 bytes long.
signup-password-common = This password is too common and easy to guess. Choose another.
signup-business-required = Enter your business name.
signup-business-invalid = The business name must be 1 to 120 characters.
signup-sector-required = Enter your sector.
signup-sector-invalid = The sector must be 1 to 80 characters.
signup-age-required = You must be 18 or older to use kraftsoci.
signup-policy-required = Accept the privacy policy to create an account.
signup-policy-changed = The privacy policy changed while this page was open. Read the new version and accept it.

signin-title = Sign in
signin-heading = Sign in to kraftsoci
signin-email-label = Email
signin-password-label = Password
signin-submit = Sign in
signin-forgot = Forgot your password?
signin-no-account = New to kraftsoci?
signin-create = Create an account
signin-failed-heading = You are not signed in
signin-failed-credentials = The email or password is not correct.
signin-failed-rate-limited =
    Too many attempts. Please try again in { $minutes ->
        [one] a minute
       *[other] { $minutes } minutes
    }.
signin-failed-internal = Something went wrong on our side. Please try again in a moment.
signin-email-required = Enter your email address.
signin-password-required = Enter your password.
signed-out-heading = You are signed out
signed-out-body = Your session on this browser has ended.

nav-label = Main
nav-posts = Posts
nav-calendar = Calendar
nav-settings = Settings
nav-billing = Billing
nav-privacy = Privacy
nav-sign-out = Sign out
nav-signed-in-as = Signed in as { $name }
nav-sign-in = Sign in
nav-sign-up = Create account

reset-request-title = Reset your password
reset-request-heading = Forgot your password?
reset-request-lead = Enter the email address of your account. We will send you a link to choose a new password; it works for 30 minutes.
reset-request-email-label = Email
reset-request-submit = Send the link
reset-request-sent-heading = Check your mail
reset-request-sent-body = If an account uses this address, a link to choose a new password is on its way. It works for 30 minutes. Nothing arrived? Look in the spam folder, or ask again.
reset-title = Choose a new password
reset-heading = Choose a new password
reset-token-label = Code from the mail
reset-token-hint = Open the link in the mail and this is filled in for you. Otherwise copy the code from the mail.
reset-password-label = New password
reset-submit = Save the new password
reset-token-required = The code from the mail is missing. Open the link in the mail again.
reset-failed-heading = Your password was not changed
reset-failed-token = This link is invalid, was already used or has expired. Ask for a new one.
reset-ask-again = Ask for a new link
reset-done-heading = Your password was changed
reset-done-body = You were signed out everywhere. Sign in with your new password.
mail-reset-subject = Reset your kraftsoci password
mail-reset-body =
    Hello { $name },

    Someone (hopefully you) asked to reset the password of your kraftsoci account. Open this link within 30 minutes to choose a new one:

    { $link }

    If the page asks for a code, copy this one: { $code }

    If you did not ask for this, ignore this mail; your password stays as it is.
mail-changed-subject = Your kraftsoci password was changed
mail-changed-body =
    Hello { $name },

    The password of your kraftsoci account was just reset, and every device was logged out. If this was not you, reset it again at once and contact us.
