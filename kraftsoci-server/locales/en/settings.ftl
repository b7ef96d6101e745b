# Settings: the account, language and theme, password, business profile (P27, P36).

settings-save = Save
settings-title = Settings
settings-heading = Settings
settings-account-heading = Your account
settings-name-label = Your name
settings-email-label = Email
settings-email-password-label = Current password
settings-email-password-hint = Needed only when you change your email, so nobody else can take over your account.
settings-account-submit = Save account
settings-preferences-heading = Language and appearance
settings-language-label = Language of the app and of our mail
settings-theme-legend = Theme
settings-theme-system = Same as my device
settings-theme-light = Light
settings-theme-dark = Dark
settings-preferences-submit = Save
settings-password-heading = Password
settings-password-lead = Changing your password signs you out on every other device.
settings-current-password-label = Current password
settings-new-password-label = New password
settings-password-submit = Change password
settings-profile-heading = Business profile
settings-profile-lead = What posts are written from: your business, customers and voice.
settings-profile-edit = Edit the business profile
settings-instagram-heading = Instagram
settings-instagram-lead = The accounts kraftsoci may publish to.
settings-instagram-manage = Manage Instagram accounts
settings-saved-heading = Saved
settings-saved-account = Your account was updated.
settings-saved-preferences = Your language and theme were saved.
settings-saved-password = Your password was changed. You were signed out on every other device.
settings-saved-profile = Your business profile was saved.
settings-name-required = Enter your name.
settings-name-invalid = Your name must be 1 to 100 characters.
settings-email-required = Enter your email address.
settings-email-invalid = This does not look like an email address. Write it like name@example.com.
settings-email-taken = Another account already uses this email.
settings-email-password-required = Enter your current password to change your email.
settings-password-wrong = This is not your current password.
settings-current-password-required = Enter your current password.
settings-theme-invalid = Choose a theme from the list.
settings-language-invalid = Choose a language from the list.
settings-rate-limited =
    Too many attempts. Please try again in { $minutes ->
        [one] a minute
       *[other] { $minutes } minutes
    }.
