# Kayıt olma, giriş ve çıkış (P24, P35, P38).

signup-title = Hesabınızı oluşturun
signup-heading = kraftsoci hesabınızı oluşturun
signup-lead = Kim olduğunuzu ve işletmenizin adını yazın. İşletmenizi bir sonraki sayfada daha ayrıntılı anlatacaksınız.
signup-name-label = Adınız
signup-email-label = E-posta
signup-password-label = Parola
signup-password-hint = En az 8 karakter. Birbiriyle ilgisiz birkaç kelime hem kolay hatırlanır hem de zor tahmin edilir.
signup-business-label = İşletme adı
signup-sector-label = Sektör
signup-sector-hint = Örneğin fırın, çiçekçi, kafe veya kuaför.
signup-age-label = 18 yaşında veya daha büyüğüm.
signup-age-hint = kraftsoci yalnızca yetişkinler içindir.
signup-policy-heading = Gizlilik politikası
signup-policy-version = Sürüm { $version }, { $date } tarihinden beri geçerli.
signup-policy-label = Gizlilik politikasını (sürüm { $version }) okudum ve kabul ediyorum.
signup-policy-link = Gizlilik politikasını okuyun
signup-submit = Hesap oluştur
signup-have-account = Zaten bir hesabınız var mı?
signup-closed-heading = Kayıt henüz açık değil
signup-closed-body = Bu sunucuda henüz bir gizlilik politikası yayımlanmadı; politika olmadan kimse kayıt olamaz. İşletmeci politikayı “kraftsoci-server publish-policy” komutuyla yayımlar.
signup-name-required = Adınızı yazın.
signup-name-invalid = Adınız 1 ile 100 karakter arasında olmalı.
signup-email-required = E-posta adresinizi yazın.
signup-email-invalid = Bu bir e-posta adresine benzemiyor. ad@example.com biçiminde yazın.
signup-email-taken = Bu e-posta ile açılmış bir hesap zaten var. Giriş yapın ya da parolanızı sıfırlayın.
signup-password-required = Bir parola belirleyin.
signup-password-short = Parola en az 8 karakter olmalı.
signup-password-long = Parola en fazla 72 bayt olabilir.
signup-password-common = Bu parola çok yaygın ve kolay tahmin edilir. Başka bir parola seçin.
signup-business-required = İşletmenizin adını yazın.
signup-business-invalid = İşletme adı 1 ile 120 karakter arasında olmalı.
signup-sector-required = Sektörünüzü yazın.
signup-sector-invalid = Sektör 1 ile 80 karakter arasında olmalı.
signup-age-required = kraftsoci'yi kullanmak için 18 yaşında veya daha büyük olmalısınız.
signup-policy-required = Hesap oluşturmak için gizlilik politikasını kabul edin.
signup-policy-changed = Bu sayfa açıkken gizlilik politikası değişti. Yeni sürümü okuyup kabul edin.

signin-title = Giriş yap
signin-heading = kraftsoci'ye giriş yapın
signin-email-label = E-posta
signin-password-label = Parola
signin-submit = Giriş yap
signin-forgot = Parolanızı mı unuttunuz?
signin-no-account = kraftsoci'de yeni misiniz?
signin-create = Hesap oluşturun
signin-failed-heading = Giriş yapılamadı
signin-failed-credentials = E-posta veya parola doğru değil.
signin-failed-rate-limited =
    Çok fazla deneme yapıldı. Lütfen { $minutes ->
        [one] bir dakika
       *[other] { $minutes } dakika
    } sonra yeniden deneyin.
signin-failed-internal = Bizim tarafımızda bir sorun oluştu. Lütfen biraz sonra yeniden deneyin.
signin-email-required = E-posta adresinizi yazın.
signin-password-required = Parolanızı yazın.
signed-out-heading = Çıkış yaptınız
signed-out-body = Bu tarayıcıdaki oturumunuz sona erdi.

nav-label = Ana menü
nav-posts = Gönderiler
nav-calendar = Takvim
nav-settings = Ayarlar
nav-billing = Ödeme
nav-privacy = Gizlilik
nav-sign-out = Çıkış yap
nav-signed-in-as = { $name } olarak giriş yapıldı
nav-sign-in = Giriş yap
nav-sign-up = Hesap oluştur

reset-request-title = Parolanızı sıfırlayın
reset-request-heading = Parolanızı mı unuttunuz?
reset-request-lead = Hesabınızın e-posta adresini yazın. Yeni bir parola seçmeniz için bir bağlantı göndereceğiz; bağlantı 30 dakika geçerlidir.
reset-request-email-label = E-posta
reset-request-submit = Bağlantıyı gönder
reset-request-sent-heading = E-postanızı kontrol edin
reset-request-sent-body = Bu adresle açılmış bir hesap varsa, yeni parola seçme bağlantısı yola çıktı. Bağlantı 30 dakika geçerlidir. Bir şey gelmedi mi? İstenmeyen e-posta klasörüne bakın ya da yeniden isteyin.
reset-title = Yeni bir parola seçin
reset-heading = Yeni bir parola seçin
reset-token-label = E-postadaki kod
reset-token-hint = E-postadaki bağlantıyı açtığınızda bu alan kendiliğinden dolar. Dolmazsa kodu e-postadan kopyalayın.
reset-password-label = Yeni parola
reset-submit = Yeni parolayı kaydet
reset-token-required = E-postadaki kod eksik. E-postadaki bağlantıyı yeniden açın.
reset-failed-heading = Parolanız değiştirilmedi
reset-failed-token = Bu bağlantı geçersiz, daha önce kullanılmış ya da süresi dolmuş. Yeni bir bağlantı isteyin.
reset-ask-again = Yeni bağlantı iste
reset-done-heading = Parolanız değiştirildi
reset-done-body = Tüm cihazlarda oturumunuz kapatıldı. Yeni parolanızla giriş yapın.
mail-reset-subject = kraftsoci parolanızı sıfırlayın
mail-reset-body =
    Merhaba { $name },

    Birisi (umarız siz) kraftsoci hesabınızın parolasını sıfırlamak istedi. Yeni bir parola seçmek için 30 dakika içinde bu bağlantıyı açın:

    { $link }

    Sayfa bir kod isterse şunu kopyalayın: { $code }

    Bunu siz istemediyseniz bu e-postayı yok sayın; parolanız olduğu gibi kalır.
mail-changed-subject = kraftsoci parolanız değiştirildi
mail-changed-body =
    Merhaba { $name },

    kraftsoci hesabınızın parolası az önce sıfırlandı ve tüm cihazlarda oturum kapatıldı. Bunu siz yapmadıysanız parolanızı hemen yeniden sıfırlayın ve bizimle iletişime geçin.
