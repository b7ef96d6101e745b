# The calendar of approved and published posts.

calendar-title = Calendar
calendar-heading = Calendar
calendar-lead = Your approved, scheduled and published posts, in your time zone.
calendar-nav-label = Weeks
calendar-previous = ← Previous week
calendar-next = Next week →
calendar-this-week = This week
calendar-range = { $from } – { $to }
calendar-day = { $weekday }, { $date }
calendar-today = Today
calendar-nothing = Nothing planned.
calendar-empty-week = No posts are approved, scheduled or published this week.
calendar-withdraw = Withdraw
calendar-monday = Monday
calendar-tuesday = Tuesday
calendar-wednesday = Wednesday
calendar-thursday = Thursday
calendar-friday = Friday
calendar-saturday = Saturday
calendar-sunday = Sunday
