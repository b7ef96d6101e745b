# /meta/data-deletion/status: the status of a deletion Meta asked for on a person's behalf.

meta-status-title = Deletion request
meta-status-heading = Your deletion request
meta-status-intro = You asked Facebook to have kraftsoci delete the data linked to your Facebook account. This page shows how far that has got.
meta-status-code-label = Confirmation code
meta-status-received-label = Received
meta-status-state-label = Status
meta-status-in-progress = In progress
meta-status-completed = Completed
meta-status-nothing-held = Nothing to delete
meta-status-in-progress-body = The kraftsoci accounts linked to this Facebook account were closed at once: signed out, Instagram tokens deleted, nothing published any more. Their data will be permanently deleted by { $date }.
meta-status-completed-body = Every kraftsoci account linked to this Facebook account has been permanently deleted.
meta-status-completed-on = Completed on { $date }.
meta-status-nothing-held-body = kraftsoci held no data linked to this Facebook account, so there was nothing to delete.
meta-status-payments = Payment records are kept, without a name or email, for the 10 years the law requires.
meta-status-unknown-heading = Unknown confirmation code
meta-status-unknown-body = No deletion request has this code. Check the code Facebook showed you.
