# Gönderiler: liste, konu formu ve Yayınla ile Zamanla düğmeli önizleme.

post-status-ready = İncelemeye hazır
post-status-approved = Onaylandı
post-status-scheduled = Zamanlandı
post-status-publishing = Yayınlanıyor
post-status-published = Yayınlandı
post-status-failed = Başarısız
post-status-withdrawn = Geri çekildi
post-status-needs-reconnect = Yeniden bağlanmalı

posts-title = Gönderiler
posts-heading = Gönderileriniz
posts-new = Yeni gönderi
posts-back = ← Tüm gönderiler
posts-filter-label = Gönderileri duruma göre göster
posts-filter-all = Tümü
posts-created-on = Yazıldı: { $date }
posts-scheduled-for = Zamanlandı: { $date }
posts-published-on = Yayınlandı: { $date }
posts-no-topic = Başlıksız gönderi
posts-older = Daha eski gönderiler →
posts-empty-heading = Henüz gönderi yok
posts-empty-body = Ne hakkında paylaşım yapmak istediğinizi yazın; kraftsoci açıklamayı, etiketleri, alternatif metni ve bir görseli hazırlasın. Siz Yayınla'ya tıklamadan hiçbir şey Instagram'a gitmez.
posts-empty-filtered-heading = Bu durumda gönderi yok
posts-empty-filtered-body = Şu anda gönderilerinizden hiçbiri bu durumda değil.
posts-show-all = Tüm gönderileri göster
posts-deleted-heading = Gönderi silindi
posts-deleted-body = Gönderinin bizdeki kopyası ve görseli silindi. Instagram'da yayınlanmış bir gönderi, siz Instagram'dan kaldırana kadar orada kalır.

new-post-title = Yeni gönderi
new-post-heading = Yeni bir gönderi yazın
new-post-lead = Gönderinin ne hakkında olduğunu anlatın. İşletme profilinizden yola çıkarak yazıyoruz; bir şey yayınlanmadan önce gönderiyi Instagram'da görüneceği gibi görürsünüz.
new-post-topic-label = Gönderi ne hakkında olsun?
new-post-topic-hint = Örneğin: "Yeni fıstıklı baklavamız, yalnızca bu hafta sonu". 3 ile 500 karakter arası.
new-post-topic-invalid = Konuyu 3 ile 500 karakter arasında anlatın.
new-post-with-image = Bir görsel de oluştur (Instagram'da yayınlamak için gerekir)
new-post-duration = Bir gönderiyi yazmak yaklaşık 20 saniye sürer. Önizleme görünene kadar lütfen bu sayfayı açık tutun.
new-post-busy = Gönderiniz yazılıyor…
new-post-submit = Gönderiyi yaz
new-post-failed-heading = Gönderi yazılamadı
new-post-quota =
    { $limit ->
        [one] Planınız ayda bir gönderi içeriyor ve bu hak kullanıldı. Faturalandırma'dan planınızı yükseltin ya da gelecek ayı bekleyin.
       *[other] Planınız ayda { $limit } gönderi içeriyor ve bu haklar kullanıldı. Faturalandırma'dan planınızı yükseltin ya da gelecek ayı bekleyin.
    }
new-post-subscription = Aboneliğiniz etkin olmadığı için gönderi yazılamıyor. Faturalandırma'dan planınızı kontrol edin.
new-post-restricted = Gizlilik merkezinde yapay zekâ ile yazmayı durdurdunuz. Yeniden gönderi yazmak için oradan devam ettirin.
new-post-profile-required = Sizin için gönderi yazabilmemiz için işletme profilinize ihtiyacımız var. Önce onu doldurun.
new-post-flagged = Konu ya da ondan yazılan gönderi içerik denetiminden geçmedi. Lütfen başka bir konu deneyin.
new-post-refused = Yazma hizmeti bu konuyu reddetti. Lütfen konuyu farklı biçimde anlatın.
new-post-generator = Yazma hizmeti düzgün yanıt vermedi. Hakkınızdan bir şey düşülmedi; lütfen bir dakika sonra yeniden deneyin.
new-post-try-later = Bizim tarafımızda bir sorun oluştu. Hakkınızdan bir şey düşülmedi; lütfen daha sonra yeniden deneyin.

preview-title = Gönderi önizlemesi
preview-heading = Gönderiniz
preview-topic = Konu:
preview-sandbox = Deneme modu: bu gönderi çevrimdışı yazıldı ve yayınlama yalnızca taklit ediliyor. Instagram'a hiçbir şey gitmez.
preview-as-instagram = Instagram'da görüneceği gibi
preview-no-account = Instagram hesabınız
preview-no-image = Bu gönderinin görseli yok. Instagram'da yayınlamak için bir görsel gerekir.
preview-more = devamı
preview-alt-label = Alternatif metin
preview-alt-hint = Görseli ekran okuyucu kullananlar için anlatır. En fazla 1.000 karakter.
preview-alt-none = Yok
preview-alt-invalid = Alternatif metin en fazla 1.000 karakter olabilir.
preview-hashtags-label = Etiketler
preview-hashtag-count-label = Etiket sayısı
preview-generating-placeholder = Gönderi hazır olur olmaz burada görünecek.
preview-hashtags-hint = Boşlukla ayrılmış, # ile ya da # olmadan. En fazla 30.
preview-hashtags-invalid = Her etiket harf, rakam ya da _ içeren tek bir sözcüktür (en fazla 30 etiket).
preview-caption-label = Açıklama
preview-caption-invalid = Açıklama, etiketlerle birlikte en fazla 2.200 karakter olabilir.
preview-account-label = Instagram hesabı

preview-publish-heading = Yayınla
preview-publish-body = Yayınla, bu sayfadaki gönderiyi tam olarak gösterildiği gibi, üstünde adı yazan hesaba gönderir.
preview-connect-first = Önce Instagram hesabınızı bağlayın; ardından bu gönderiyi yayınlayabilirsiniz.
preview-publish-now = Şimdi yayınla
preview-schedule-label = Ya da bir zaman seçin
preview-schedule-placeholder = GG.AA.YYYY SS:DD
preview-schedule-hint = Gün, ay, yıl ve saat; sizin saat diliminizde ({ $zone }). Zamanlanmış bir gönderiyi, zamanı gelene kadar geri çekebilirsiniz.
preview-schedule = Zamanla
preview-schedule-required = Gönderiyi zamanlamak için bir tarih ve saat seçin.
preview-schedule-invalid = Tarihi ve saati GG.AA.YYYY SS:DD biçiminde girin, örneğin 24.12.2026 09:30.
preview-schedule-past = İleri bir zaman seçin.

preview-receipt-heading = Onayınız
preview-receipt-when = Onay zamanı
preview-receipt-where = Hesap
preview-receipt-schedule = Yayın zamanı
preview-receipt-now = Olabildiğince hemen
preview-receipt-what = Onaylanan içeriğin parmak izi
preview-receipt-hint = Neyi onayladığınızın kanıtı olarak bu kaydı saklıyoruz. Gönderideki her değişiklik onu geçersiz kılar.

preview-progress-heading = Yayınlanıyor
preview-progress-body = Gönderiniz Instagram'a gidiyor. İş bitince sonuç bu sayfada görünür.
preview-progress-live = Gönderi yayınlanırken sayfa kendiliğinden yenilenir.
preview-progress-reload = Durumu yenile
preview-published-heading = Instagram'da yayınlandı
preview-published-on = Yayınlandı: { $date }.
preview-permalink = Instagram'da gör
preview-failed-heading = Yayınlanamadı
preview-failed-retryable = Instagram gönderiyi bu sefer kabul etmedi. Yeniden yayınlayabilirsiniz.
preview-failed-final = Instagram gönderiyi reddetti. Gönderiyi değiştirip (örneğin açıklamayı ya da görseli) yeniden yayınlayın.

preview-withdraw-heading = Fikrinizi mi değiştirdiniz?
preview-withdraw-body = Geri çekmek onayı iptal eder. Hiçbir şey yayınlanmaz ve gönderi burada kalır.
preview-withdraw = Onayı geri çek

preview-edit-heading = Gönderiyi düzenle
preview-edit-voids = Bir değişikliği kaydetmek onayınızı iptal eder: yeni hâlini görür ve yeniden onaylarsınız.
preview-save = Değişiklikleri kaydet

preview-more-heading = Diğer
preview-write-again = Bu konuda başka bir gönderi yaz
preview-delete = Bu gönderiyi sil
preview-delete-heading = Bu gönderi silinsin mi?
preview-delete-body = Gönderinin bizdeki kopyası ve görseli kalıcı olarak silinir. Instagram'da yayınlanmış bir gönderi orada kalır.
preview-delete-confirm = Evet, sil
preview-delete-cancel = Vazgeç

preview-saved-heading = Değişiklikler kaydedildi
preview-saved-body = Bu, yeni hâli. Yayınlamadan önce kontrol edin.
preview-approved-heading = Onaylandı
preview-approved-body = Gönderiniz Instagram'da yayınlanıyor.
preview-scheduled-heading = Zamanlandı
preview-scheduled-body = Gönderiniz seçtiğiniz zamanda yayınlanacak. O zamana kadar geri çekebilirsiniz.
preview-withdrawn-heading = Onay geri çekildi
preview-withdrawn-body = Hiçbir şey yayınlanmayacak. Gönderiyi düzenleyip yeniden onaylayabilirsiniz.
preview-generated-heading = Gönderiniz hazır
preview-generated-body = Açıklamayı, etiketleri, alternatif metni ve görseli kontrol edin. Siz Yayınla'ya tıklamadan hiçbir şey yayınlanmaz.

preview-refused-heading = Hiçbir şey yapılmadı
preview-stale-heading = Bu sayfayı açtığınızdan beri gönderi değişti
preview-stale-body = Gönderi başka bir sekmede ya da pencerede düzenlendi; bu yüzden hiçbir şey yayınlanmadı ya da kaydedilmedi. Gönderinin şimdiki hâli aşağıda: kontrol edip yeniden tıklayın.
preview-stale-kept = Yazdıklarınız formda duruyor.
preview-restricted = Gizlilik merkezinde yayınlamayı durdurdunuz. Yayınlamak için oradan devam ettirin.
preview-reconnect = Bu hesaba bir şey yayınlanmadan önce Instagram hesabının yeniden bağlanması gerekiyor.
preview-daily-limit = Instagram bir hesap için 24 saatte { $limit } gönderiye izin veriyor ve bu saatlerde o kadar gönderi zaten yayınlanmış ya da zamanlanmış. Başka bir zaman seçin.
preview-publishing-started = Yayınlama başladı; gönderi artık değiştirilemez.
preview-changed-meanwhile = Biz kaydederken gönderi değişti. Şimdiki hâli burada; lütfen yeniden deneyin.
preview-too-long = Etiketleriyle birlikte açıklama Instagram'ın izin verdiğinden uzun. Kısaltıp yeniden deneyin.
preview-image-unusable = Gönderinin görseli yayınlanamıyor. Yeni bir görsel için gönderiyi yeniden yazın.
preview-try-later = Bizim tarafımızda bir sorun oluştu ve hiçbir şey yapılmadı. Lütfen daha sonra yeniden deneyin.

posts-not-found-heading = Gönderi bulunamadı
posts-not-found-body = Gönderileriniz arasında böyle bir gönderi yok. Silinmiş olabilir.
posts-unavailable-heading = Gönderileriniz yüklenemedi
posts-unavailable-body = Bizim tarafımızda bir sorun oluştu. Lütfen biraz sonra yeniden deneyin.

# Generation in the background (issue 15): live progress and regenerate
post-status-generating = Yazılıyor
post-status-generation-failed = Oluşturulamadı
post-status-other = Diğer
generation-step-queued = Sıra bekleniyor…
generation-step-writing = Açıklama ve etiketler yazılıyor…
generation-step-moderating = Metin denetleniyor…
generation-step-drawing = Görsel çiziliyor…
generation-step-ready = Hazır
generation-step-failed = Başarısız
preview-generating-heading = Gönderiniz yazılıyor
preview-generating-body = Bu genellikle bir dakikadan kısa sürer. Bu sayfadan ayrılabilirsiniz; gönderi listenizde sizi bekler.
preview-generating-reload = İlerlemeyi yenile
preview-generation-failed-heading = Gönderi oluşturulamadı
preview-generation-failed-retryable = Bu gönderi yazılırken bir sorun oluştu. Yeniden deneyin: kotanızdan yalnızca başarılı olursa düşülür.
preview-generation-failed-final = Bu konu hakkında yazılamadı (reddedildi ya da işaretlendi). Başka bir konuyla yeniden deneyin.
preview-regenerate-heading = Tam olmadı mı?
preview-regenerate-body = Yeni bir açıklama yazdırın ya da yeni bir görsel çizdirin; diğer kısım olduğu gibi kalır. Varsa onay geçersiz olur: gönderiyi yeniden inceleyip Yayınla'ya tıklarsınız.
preview-regenerate-caption = Açıklamayı yeniden oluştur
preview-regenerate-image = Görseli yeniden oluştur
preview-regenerate-failed = Gönderi yeniden oluşturulmaya gönderilemedi. Sayfayı yenileyip tekrar deneyin.
