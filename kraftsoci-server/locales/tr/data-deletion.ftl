# /data-deletion: hesabı kapatmanın sonuçları ve bunu yapan form (P34).

deletion-title = Hesabınızı silin
deletion-heading = kraftsoci hesabınızı silin
deletion-lead = Hesabınızı kapatmak geri alınamaz. Olacaklar şunlar:
deletion-at-once-heading = Hemen
deletion-at-once-signed-out = Tüm cihazlarda oturumunuz kapatılır.
deletion-at-once-tokens = Instagram bağlantınızın erişim anahtarları silinir.
deletion-at-once-withdrawn = Yayımlanmayı bekleyen gönderiler geri çekilir. Bundan sonra hiçbir şey yayımlanmaz.
deletion-later-heading = 30 gün içinde
deletion-later-erased = Hakkınızda tuttuğumuz tüm veriler kalıcı olarak silinir: hesabınız, işletme profiliniz, oluşturulan gönderiler ve görseller, onay kayıtları, kullanım kayıtları ve talepleriniz.
deletion-later-payments = Yalnızca ödeme kayıtları, adınız ve e-posta adresiniz olmadan, yasanın gerektirdiği gibi 10 yıl saklanır.
deletion-later-instagram = Instagram'da yayımlanmış gönderiler orada kalır; onları Instagram'dan silin.
deletion-copy-first = Önce bir kopyasını mı istiyorsunuz? Hesabı kapatmadan önce verilerinizi uygulamadan indirin (Ayarlar → Dışa aktar).
deletion-facebook = Facebook kullanıyorsanız kraftsoci'yi Ayarlar → Uygulamalar ve Web Siteleri bölümünden kaldırmanız da verilerinizin silinmesini talep eder.
deletion-form-heading = Hesabınızı kapatın
deletion-email-label = E-posta
deletion-password-label = Parola
deletion-password-hint = Hesabınızı sizden başkası kapatamasın diye parolanızı soruyoruz.
deletion-submit = Hesabımı kapat ve verilerimi sil
deletion-email-required = Hesabınızın e-posta adresini girin.
deletion-email-invalid = Bu bir e-posta adresine benzemiyor. ad@ornek.com biçiminde yazın.
deletion-password-required = Parolanızı girin.
deletion-failed-title = Hesap kapatılmadı
deletion-failed-heading = Hesabınız kapatılmadı
deletion-failed-credentials = E-posta veya parola hatalı. Hiçbir şey silinmedi.
deletion-failed-rate-limited =
    Çok fazla deneme yapıldı. Hiçbir şey silinmedi. Lütfen { $minutes ->
        [one] bir dakika
       *[other] { $minutes } dakika
    } sonra yeniden deneyin.
deletion-failed-internal = Bizim tarafımızda bir sorun oluştu. Hiçbir şey silinmedi; lütfen daha sonra yeniden deneyin.
deletion-closed-title = Hesap kapatıldı
deletion-closed-heading = Hesabınız kapatıldı
deletion-closed-body = Tüm cihazlarda oturumunuz kapatıldı ve artık hiçbir şey yayımlanmayacak.
deletion-closed-purge = Ödeme kayıtları dışındaki tüm verileriniz en geç { $date } tarihinde kalıcı olarak silinecek.

# Veri sorumlusu ve iletişim satırı (issue 14).
deletion-contact-lead = Verilerinizin silinmesiyle ilgili sorularınız ya da burada yapamadığınız bir başvuru için yazın:
