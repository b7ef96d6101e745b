# Onaylanmış ve yayınlanmış gönderilerin takvimi.

calendar-title = Takvim
calendar-heading = Takvim
calendar-lead = Onaylanmış, zamanlanmış ve yayınlanmış gönderileriniz, sizin saat diliminizde.
calendar-nav-label = Haftalar
calendar-previous = ← Önceki hafta
calendar-next = Sonraki hafta →
calendar-this-week = Bu hafta
calendar-range = { $from } – { $to }
calendar-day = { $date }, { $weekday }
calendar-today = Bugün
calendar-nothing = Planlanmış bir şey yok.
calendar-empty-week = Bu hafta onaylanmış, zamanlanmış ya da yayınlanmış gönderi yok.
calendar-withdraw = Geri çek
calendar-monday = Pazartesi
calendar-tuesday = Salı
calendar-wednesday = Çarşamba
calendar-thursday = Perşembe
calendar-friday = Cuma
calendar-saturday = Cumartesi
calendar-sunday = Pazar
