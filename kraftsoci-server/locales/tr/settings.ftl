# Ayarlar: hesap, dil ve tema, parola, işletme profili (P27, P36).

settings-save = Kaydet
