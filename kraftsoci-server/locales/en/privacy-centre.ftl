# The privacy centre: the owner's rights over their data in one place.

privacy-title = Privacy centre
privacy-heading = Your privacy centre
privacy-lead = Everything you can do about your data, in one place. We answer every request within 30 days; most take effect at once.
privacy-download-heading = Download your data
privacy-download-body = One file with everything we hold about you: account, business profile, posts with their approvals and images, billing records, requests and notices. Never a password or token.
privacy-download = Download my data (JSON)
privacy-correct-heading = Correct your data
privacy-correct-body = Change your name, email, language or business profile, or edit any post that is not published yet.
privacy-correct-account = Account and business profile settings
privacy-correct-posts = Your posts
privacy-choices-heading = Pause or object
privacy-choices-body = Pause processing while you decide, or object to optional processing. A change takes effect as soon as you save it.
privacy-pause-generation = Pause AI writing
privacy-pause-generation-hint = No captions or images are generated for you until you resume.
privacy-pause-publishing = Pause publishing
privacy-pause-publishing-hint = Nothing is published to Instagram; approved posts wait until you resume.
privacy-object-usage-log = Object to the usage log
privacy-object-usage-log-hint = We then record only what security requires (sign-ins, password changes), not which features you use.
privacy-choices-save = Save my choices
privacy-saved-heading = Choices saved
privacy-saved-body = Your choices apply from now on, and the request is recorded below.
privacy-requests-heading = Your requests
privacy-requests-body = Every request you made about your data, when it is due and where it stands.
privacy-requests-none = You have not made any requests yet.
privacy-requests-kind = Request
privacy-requests-received = Received
privacy-requests-due = Due by
privacy-requests-status = Status
privacy-request-access = Access
privacy-request-rectification = Correction
privacy-request-erasure = Erasure
privacy-request-restriction = Restriction
privacy-request-portability = Portability
privacy-request-objection = Objection
privacy-request-open = In progress
privacy-request-completed = Completed { $date }
privacy-policy-heading = Privacy policy and notices
privacy-policy-published = Version { $version }, published { $date }.
privacy-policy-accepted = You accepted it on { $date }.
privacy-policy-not-accepted = You have not accepted this version yet.
privacy-policy-none = No privacy policy has been published yet.
privacy-notices-heading = Notices to you
privacy-notices-none = No notices yet.
privacy-notice-unread = new
privacy-contact-heading = Questions and complaints
privacy-contact-no-address = Questions about your data? Use the contact address in the privacy policy.
privacy-complain = You may also complain to a data protection authority: in Turkey the KVKK Board (Kişisel Verileri Koruma Kurulu), in the EU the authority of the country you live or work in.
privacy-complain-kvkk = The KVKK Board (kvkk.gov.tr)
privacy-complain-eu = The EU data protection authorities (edpb.europa.eu)
privacy-close-heading = Close your account
privacy-close-download-first = You may want to download your data first: after closing, it cannot be recovered.
privacy-close-password = Your password
privacy-close-password-hint = We ask for it again so no one else can close your account.
privacy-close-password-required = Enter your password.
privacy-close-confirm = I understand that closing my account deletes my data and cannot be undone.
privacy-close-confirm-required = Tick this box to confirm.
privacy-close-submit = Close my account
privacy-close-failed-heading = The account was not closed
privacy-close-wrong-password = The password is not right. Nothing was changed.
privacy-close-rate-limited =
    { $minutes ->
        [one] Too many attempts. Please try again in a minute.
       *[other] Too many attempts. Please try again in { $minutes } minutes.
    }
privacy-failed-heading = Nothing was changed
privacy-failed-body = Something went wrong on our side. Please try again later.
