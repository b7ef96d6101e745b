# Gizlilik merkezi: sahibin verileri üzerindeki hakları tek yerde.

privacy-title = Gizlilik merkezi
privacy-heading = Gizlilik merkeziniz
privacy-lead = Verilerinizle ilgili yapabileceğiniz her şey tek yerde. Her başvuruyu 30 gün içinde yanıtlıyoruz; çoğu hemen yürürlüğe girer.
privacy-download-heading = Verilerinizi indirin
privacy-download-body = Hakkınızda tuttuğumuz her şey tek bir dosyada: hesap, işletme profili, onaylarıyla ve görselleriyle gönderiler, fatura kayıtları, başvurular ve bildirimler. Asla bir parola ya da erişim anahtarı değil.
privacy-download = Verilerimi indir (JSON)
privacy-correct-heading = Verilerinizi düzeltin
privacy-correct-body = Adınızı, e-postanızı, dilinizi ya da işletme profilinizi değiştirin; henüz yayınlanmamış her gönderiyi düzenleyin.
privacy-correct-account = Hesap ve işletme profili ayarları
privacy-correct-posts = Gönderileriniz
privacy-choices-heading = Durdurun ya da itiraz edin
privacy-choices-body = Karar verene kadar işlemeyi durdurun ya da isteğe bağlı işlemeye itiraz edin. Değişiklik kaydettiğiniz anda yürürlüğe girer.
privacy-pause-generation = Yapay zekâ ile yazmayı durdur
privacy-pause-generation-hint = Siz devam ettirene kadar sizin için açıklama ya da görsel üretilmez.
privacy-pause-publishing = Yayınlamayı durdur
privacy-pause-publishing-hint = Instagram'a hiçbir şey yayınlanmaz; onaylanmış gönderiler siz devam ettirene kadar bekler.
privacy-object-usage-log = Kullanım kaydına itiraz et
privacy-object-usage-log-hint = O zaman yalnızca güvenliğin gerektirdiğini (oturum açmalar, parola değişiklikleri) kaydederiz; hangi özellikleri kullandığınızı kaydetmeyiz.
privacy-choices-save = Seçimlerimi kaydet
privacy-saved-heading = Seçimler kaydedildi
privacy-saved-body = Seçimleriniz şu andan itibaren geçerli; başvuru aşağıda kayıtlı.
privacy-requests-heading = Başvurularınız
privacy-requests-body = Verilerinizle ilgili yaptığınız her başvuru, ne zamana kadar yanıtlanacağı ve ne durumda olduğu.
privacy-requests-none = Henüz bir başvurunuz yok.
privacy-requests-kind = Başvuru
privacy-requests-received = Alındı
privacy-requests-due = Son tarih
privacy-requests-status = Durum
privacy-request-access = Erişim
privacy-request-rectification = Düzeltme
privacy-request-erasure = Silme
privacy-request-restriction = Kısıtlama
privacy-request-portability = Taşınabilirlik
privacy-request-objection = İtiraz
privacy-request-open = Sürüyor
privacy-request-completed = Tamamlandı: { $date }
privacy-policy-heading = Gizlilik politikası ve bildirimler
privacy-policy-published = Sürüm { $version }, yayın tarihi { $date }.
privacy-policy-accepted = Bu sürümü { $date } tarihinde kabul ettiniz.
privacy-policy-not-accepted = Bu sürümü henüz kabul etmediniz.
privacy-policy-none = Henüz bir gizlilik politikası yayınlanmadı.
privacy-notices-heading = Size gönderilen bildirimler
privacy-notices-none = Henüz bildirim yok.
privacy-notice-unread = yeni
privacy-contact-heading = Sorular ve şikâyetler
privacy-contact-no-address = Verilerinizle ilgili sorularınız için gizlilik politikasındaki iletişim adresini kullanın.
privacy-complain = Bir veri koruma otoritesine de şikâyette bulunabilirsiniz: Türkiye'de Kişisel Verileri Koruma Kurulu'na, AB'de yaşadığınız ya da çalıştığınız ülkenin otoritesine.
privacy-complain-kvkk = Kişisel Verileri Koruma Kurulu (kvkk.gov.tr)
privacy-complain-eu = AB veri koruma otoriteleri (edpb.europa.eu)
privacy-close-heading = Hesabınızı kapatın
privacy-close-download-first = Önce verilerinizi indirmek isteyebilirsiniz: kapattıktan sonra geri getirilemezler.
privacy-close-password = Parolanız
privacy-close-password-hint = Hesabınızı sizden başkası kapatamasın diye parolanızı yeniden soruyoruz.
privacy-close-password-required = Parolanızı girin.
privacy-close-confirm = Hesabımı kapatmanın verilerimi sildiğini ve geri alınamayacağını anlıyorum.
privacy-close-confirm-required = Onaylamak için bu kutuyu işaretleyin.
privacy-close-submit = Hesabımı kapat
privacy-close-failed-heading = Hesap kapatılmadı
privacy-close-wrong-password = Parola doğru değil. Hiçbir şey değişmedi.
privacy-close-rate-limited =
    { $minutes ->
        [one] Çok fazla deneme yapıldı. Lütfen bir dakika sonra yeniden deneyin.
       *[other] Çok fazla deneme yapıldı. Lütfen { $minutes } dakika sonra yeniden deneyin.
    }
privacy-failed-heading = Hiçbir şey değişmedi
privacy-failed-body = Bizim tarafımızda bir sorun oluştu. Lütfen daha sonra yeniden deneyin.
