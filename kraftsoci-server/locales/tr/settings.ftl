# Ayarlar: hesap, dil ve tema, parola, işletme profili (P27, P36).

settings-save = Kaydet
settings-title = Ayarlar
settings-heading = Ayarlar
settings-account-heading = Hesabınız
settings-name-label = Adınız
settings-email-label = E-posta
settings-email-password-label = Şu anki parola
settings-email-password-hint = Yalnızca e-postanızı değiştirirken gerekir; böylece hesabınızı başkası ele geçiremez.
settings-account-submit = Hesabı kaydet
settings-preferences-heading = Dil ve görünüm
settings-language-label = Uygulamanın ve e-postalarımızın dili
settings-theme-legend = Tema
settings-theme-system = Cihazımla aynı
settings-theme-light = Açık
settings-theme-dark = Koyu
settings-preferences-submit = Kaydet
settings-password-heading = Parola
settings-password-lead = Parolanızı değiştirdiğinizde diğer tüm cihazlarda oturumunuz kapanır.
settings-current-password-label = Şu anki parola
settings-new-password-label = Yeni parola
settings-password-submit = Parolayı değiştir
settings-profile-heading = İşletme profili
settings-profile-lead = Gönderilerin neye göre yazıldığı: işletmeniz, müşterileriniz ve üslubunuz.
settings-profile-edit = İşletme profilini düzenle
settings-instagram-heading = Instagram
settings-instagram-lead = kraftsoci'nin yayımlayabileceği hesaplar.
settings-instagram-manage = Instagram hesaplarını yönet
settings-saved-heading = Kaydedildi
settings-saved-account = Hesabınız güncellendi.
settings-saved-preferences = Dil ve tema tercihiniz kaydedildi.
settings-saved-password = Parolanız değiştirildi. Diğer tüm cihazlarda oturumunuz kapatıldı.
settings-saved-profile = İşletme profiliniz kaydedildi.
settings-name-required = Adınızı yazın.
settings-name-invalid = Adınız 1 ile 100 karakter arasında olmalı.
settings-email-required = E-posta adresinizi yazın.
settings-email-invalid = Bu bir e-posta adresine benzemiyor. ad@example.com biçiminde yazın.
settings-email-taken = Bu e-postayı başka bir hesap kullanıyor.
settings-email-password-required = E-postanızı değiştirmek için şu anki parolanızı yazın.
settings-password-wrong = Bu, şu anki parolanız değil.
settings-current-password-required = Şu anki parolanızı yazın.
settings-theme-invalid = Listeden bir tema seçin.
settings-language-invalid = Listeden bir dil seçin.
settings-rate-limited =
    Çok fazla deneme yapıldı. Lütfen { $minutes ->
        [one] bir dakika
       *[other] { $minutes } dakika
    } sonra yeniden deneyin.
