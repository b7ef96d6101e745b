# The layout, shared components and form messages of every page.

site-name = kraftsoci
page-title = { $page } · kraftsoci
skip-to-content = Skip to content
language-switch-label = Language
footer-contact = Questions about your data? Write to { $address }.
footer-rights = Your data is processed under the GDPR and Turkey's KVKK.
footer-delete-account = Delete your account
form-error-count =
    { $count ->
        [one] One field needs your attention.
       *[other] { $count } fields need your attention.
    }
form-error-prefix = Error:
form-expired = This form had expired or was opened in another browser, so nothing was done. It is ready again: please send it once more.
form-refused-title = Form not accepted
password-show = Show
password-hide = Hide
form-refused-back = Back to the page
form-refused-body = This form had expired or was opened in another browser, so nothing was done. Go back to the page and try once more.
error-server-title = Something went wrong
error-server-body = Something went wrong on our side, and nothing was changed. Please try again in a moment.
error-server-back = Back to the start

# The controller line of the footer and /data-deletion (issue 14).
footer-controller = { $controller } is responsible for your data (the data controller).
form-busy-heading = We are very busy right now
form-busy-body =
    Too many people are signing in at this moment, so nothing was done. Please send the form again in { $seconds ->
        [one] one second
       *[other] { $seconds } seconds
    }; what you typed is kept, except the password.
