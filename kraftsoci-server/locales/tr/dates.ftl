# Tarihler: rakamları kod yazar (src/i18n/format.rs), sözcükler buradadır.

date-month =
    { $month ->
        [1] Ocak
        [2] Şubat
        [3] Mart
        [4] Nisan
        [5] Mayıs
        [6] Haziran
        [7] Temmuz
        [8] Ağustos
        [9] Eylül
        [10] Ekim
        [11] Kasım
       *[12] Aralık
    }
# "5 Mart 2026"
date-long = { $day } { $month } { $year }
# "5 Mart 2026, 14:05 (GMT+3)"
date-time = { $date }, { $time } ({ $zone })
