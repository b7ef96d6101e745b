# Her sayfanın düzeni, ortak bileşenleri ve form mesajları.

site-name = kraftsoci
page-title = { $page } · kraftsoci
skip-to-content = İçeriğe geç
language-switch-label = Dil
footer-contact = Verilerinizle ilgili sorularınız için { $address } adresine yazın.
footer-rights = Verileriniz KVKK ve GDPR kapsamında işlenir.
footer-delete-account = Hesabınızı silin
form-error-count =
    { $count ->
        [one] Bir alanı düzeltmeniz gerekiyor.
       *[other] { $count } alanı düzeltmeniz gerekiyor.
    }
form-error-prefix = Hata:
form-expired = Bu formun süresi dolmuştu ya da başka bir tarayıcıda açılmıştı; bu yüzden hiçbir işlem yapılmadı. Form yenilendi: lütfen yeniden gönderin.
form-refused-title = Form kabul edilmedi
password-show = Göster
password-hide = Gizle
form-refused-back = Sayfaya dön
form-refused-body = Bu formun süresi dolmuştu ya da başka bir tarayıcıda açılmıştı; bu yüzden hiçbir işlem yapılmadı. Sayfaya dönüp yeniden deneyin.
error-server-title = Bir sorun oluştu
error-server-body = Bizim tarafımızda bir sorun oluştu ve hiçbir şey değiştirilmedi. Lütfen biraz sonra yeniden deneyin.
error-server-back = Başa dön

# Altbilgideki ve /data-deletion sayfasındaki veri sorumlusu satırı (issue 14).
footer-controller = Verilerinizden { $controller } sorumludur (veri sorumlusu).
form-busy-heading = Şu anda çok yoğunuz
form-busy-body =
    Şu anda çok sayıda kişi giriş yapıyor; bu yüzden hiçbir işlem yapılmadı. Lütfen formu { $seconds ->
        [one] bir saniye
       *[other] { $seconds } saniye
    } sonra yeniden gönderin; yazdıklarınız, parola dışında, korundu.
