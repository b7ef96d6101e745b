# /meta/data-deletion/status: Meta'nın bir kişi adına istediği silme işleminin durumu.

meta-status-title = Silme talebi
meta-status-heading = Silme talebiniz
meta-status-intro = Facebook aracılığıyla kraftsoci'den Facebook hesabınızla bağlantılı verilerin silinmesini istediniz. Bu sayfa talebin ne durumda olduğunu gösterir.
meta-status-code-label = Onay kodu
meta-status-received-label = Alındığı tarih
meta-status-state-label = Durum
meta-status-in-progress = Sürüyor
meta-status-completed = Tamamlandı
meta-status-nothing-held = Silinecek veri yok
meta-status-in-progress-body = Bu Facebook hesabıyla bağlantılı kraftsoci hesapları hemen kapatıldı: oturumlar sonlandırıldı, Instagram erişim anahtarları silindi, artık hiçbir şey yayımlanmıyor. Verileri en geç { $date } tarihinde kalıcı olarak silinecek.
meta-status-completed-body = Bu Facebook hesabıyla bağlantılı tüm kraftsoci hesapları kalıcı olarak silindi.
meta-status-completed-on = { $date } tarihinde tamamlandı.
meta-status-nothing-held-body = kraftsoci bu Facebook hesabıyla bağlantılı hiçbir veri tutmuyordu; bu yüzden silinecek bir şey yoktu.
meta-status-payments = Ödeme kayıtları, ad veya e-posta olmadan, yasanın gerektirdiği 10 yıl boyunca saklanır.
meta-status-unknown-heading = Bilinmeyen onay kodu
meta-status-unknown-body = Bu koda sahip bir silme talebi yok. Facebook'un size gösterdiği kodu kontrol edin.
