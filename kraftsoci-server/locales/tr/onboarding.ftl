# Başlangıç: işletme profili, ardından Instagram bağlantısı (P02, P03, P08).

onboarding-steps-label = Başlarken
onboarding-step-profile = 1. İşletmeniz
onboarding-step-instagram = 2. Instagram
onboarding-profile-title = İşletmenizi anlatın
onboarding-profile-heading = Bize işletmenizden bahsedin
onboarding-profile-lead = Gönderiler bu tanıma göre, sizin üslubunuzla ve müşterileriniz için yazılır. Bunu Ayarlar'dan istediğiniz zaman değiştirebilirsiniz.
onboarding-description-label = İşletmeniz ne yapıyor?
onboarding-description-hint = Birkaç cümle: ne üretiyor ya da satıyorsunuz, sizi farklı kılan ne, neredesiniz.
onboarding-audience-label = Müşterileriniz kimler?
onboarding-audience-hint = Örneğin: Kadıköy'deki aileler, hızlı kahvaltı arayan çalışanlar.
onboarding-tone-label = Gönderiler nasıl bir dille yazılsın?
onboarding-tone-hint = Örneğin: sıcak ve eğlenceli, sakin ve profesyonel.
onboarding-sector-label = Sektör
onboarding-language-label = Gönderilerin dili
onboarding-profile-submit = Kaydet ve devam et
onboarding-profile-saved = İşletme profiliniz kaydedildi.
onboarding-description-required = İşletmenizi birkaç cümleyle anlatın.
onboarding-description-invalid = Tanım en fazla 2.000 karakter olabilir.
onboarding-audience-required = Müşterilerinizin kim olduğunu yazın.
onboarding-audience-invalid = Hedef kitle en fazla 500 karakter olabilir.
onboarding-tone-required = Gönderilerin nasıl bir dille yazılacağını belirtin.
onboarding-tone-invalid = Üslup en fazla 80 karakter olabilir.
onboarding-language-invalid = Listeden bir dil seçin.
onboarding-instagram-title = Instagram'ı bağlayın
onboarding-instagram-heading = Instagram hesabınızı bağlayın
onboarding-instagram-lead = kraftsoci bir gönderiyi yalnızca siz Yayınla'ya tıkladığınızda yayımlar. Bunun için Instagram'ın Facebook Girişi ile vereceğiniz izne ihtiyacı var.
onboarding-instagram-needs = Bir Facebook Sayfasına bağlı bir Instagram işletme ya da içerik üreticisi hesabına ihtiyacınız var.
onboarding-instagram-permissions = Sayfalarınızı ve bunlara bağlı Instagram hesaplarını görmek ve onayladığınız gönderileri yayımlamak için izin istiyoruz. Asla kendi başımıza paylaşım yapmayız; bağlantıyı istediğiniz zaman kaldırabilirsiniz.
onboarding-instagram-connect = Facebook ile devam et
onboarding-instagram-sandbox = Deneme modu: Instagram'a hiçbir şey gitmez. Bağlandığınızda bir alıştırma hesabı oluşturulur; bu hesaba “yayımlanan” gönderiler bu sunucuda kalır.
onboarding-instagram-sandbox-connect = Deneme hesabını bağla
onboarding-instagram-connected-heading = Bağlı hesaplar
onboarding-instagram-none = Henüz bağlı bir hesap yok.
onboarding-instagram-sandbox-badge = Deneme
onboarding-instagram-needs-reconnect = Yeniden bağlanmalı
onboarding-instagram-active = Bağlı
onboarding-instagram-done = Gönderilerinize gidin
onboarding-instagram-skip = Sonra bağla
onboarding-connected-heading =
    { $count ->
        [one] Instagram hesabınız bağlandı
       *[other] { $count } Instagram hesabı bağlandı
    }
onboarding-connected-body = Artık gönderi hazırlayıp tek tıkla yayımlayabilirsiniz.
onboarding-choose-heading = kraftsoci hangi hesaplarda yayımlasın?
onboarding-choose-body = Girişiniz birden fazla Instagram hesabına erişim verdi. Kullanmak istediklerinizi seçin; diğerlerinin bağlantısı kaldırılır ve erişimleri silinir.
onboarding-choose-submit = Seçili hesapları tut
onboarding-choose-none = En az bir hesap seçin ya da hepsinin bağlantısını Ayarlar'dan kaldırın.
onboarding-pages-without =
    { $count ->
        [one] Facebook Sayfalarınızdan birine bağlı bir Instagram işletme hesabı yok.
       *[other] Facebook Sayfalarınızdan { $count } tanesine bağlı bir Instagram işletme hesabı yok.
    } Kullanmak için Instagram ayarlarından Sayfaya bir profesyonel hesap bağlayın ve yeniden bağlanın.
onboarding-error-access-denied-heading = Instagram bağlanmadı
onboarding-error-access-denied = kraftsoci'ye erişim izni vermediniz, bu yüzden hiçbir şey bağlanmadı. kraftsoci ile yayımlamak için yeniden bağlanıp erişime izin verin.
onboarding-error-permissions-heading = Bazı izinler eksik
onboarding-error-permissions = kraftsoci'nin gönderilerinizi yayımlayabilmesi için istediği tüm izinlere ihtiyacı var: Sayfalarınızı ve bunlara bağlı Instagram hesaplarını görmek ve içerik yayımlamak. Yeniden bağlanın ve tüm kutuları işaretli bırakın.
onboarding-error-not-business-heading = Instagram işletme hesabı bulunamadı
onboarding-error-not-business = kraftsoci yalnızca bir Facebook Sayfasına bağlı Instagram işletme ya da içerik üreticisi hesabında yayımlayabilir. Instagram uygulamasında Ayarlar → Hesap türü ve araçlar bölümünden profesyonel hesaba geçin, hesabı Facebook Sayfanıza bağlayın ve yeniden bağlanın.
onboarding-error-expired-heading = Bağlantı çok uzun sürdü
onboarding-error-expired = Giriş bağlantısının süresi doldu ya da daha önce kullanıldı. Hiçbir şey bağlanmadı; yeniden başlayın.
onboarding-error-failed-heading = Facebook Girişi tamamlanmadı
onboarding-error-failed = Hiçbir şey bağlanmadı. Lütfen yeniden deneyin.
onboarding-error-unavailable-heading = Instagram'a ulaşılamadı
onboarding-error-unavailable = Hiçbir şey bağlanmadı. Lütfen biraz sonra yeniden deneyin.
onboarding-error-unconfigured = Bu sunucuda Instagram bağlantısı henüz kurulmadı.
onboarding-try-again = Yeniden dene
