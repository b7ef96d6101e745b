# Dates: the digits are written by the code (src/i18n/format.rs), the words here.

date-month =
    { $month ->
        [1] January
        [2] February
        [3] March
        [4] April
        [5] May
        [6] June
        [7] July
        [8] August
        [9] September
        [10] October
        [11] November
       *[12] December
    }
# "5 March 2026"
date-long = { $day } { $month } { $year }
# "5 March 2026 at 14:05 (GMT+3)"
date-time = { $date } at { $time } ({ $zone })
